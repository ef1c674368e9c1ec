import type { SqlDatabase } from './driver.js';
import { INDEX_TABLES, TYPED_TABLES } from './search-schema.js';

/**
 * Keeps the planner's statistics fresh where the engine plans by them (PostgreSQL): after a
 * burst of writes — a bulk load into fresh tables above all — plans made on stale statistics can
 * be orders of magnitude slower until autovacuum catches up. Runs in the background, one at a
 * time, once the writes since the last run reach 200 and a quarter of all writes seen, so that
 * a growing database is analysed a logarithmic number of times. Writes that stop short of the
 * next run (the last quarter of a bulk load) get one once they have been quiet for a while:
 * otherwise their rows stay unvacuumed until autovacuum, and counts over them run ~3× slower.
 */
const TABLES = ['resource', ...TYPED_TABLES.map((kind) => INDEX_TABLES[kind].name), 'search_fulltext'];

interface State {
  /** Since the last run. */
  writes: number;
  total: number;
  running: boolean;
  /** The run armed for when writes go quiet. */
  quiet?: NodeJS.Timeout;
}

/** Fewer writes since the last run are not worth one. */
const MIN_WRITES = 200;
/** How long writes must pause before the writes since the last run get one anyway. */
export const QUIET_MS = 5_000;

const states = new WeakMap<SqlDatabase, State>();

export function noteWrite(db: SqlDatabase): void {
  if (!db.dialect.analyze) return;
  let state = states.get(db);
  if (!state) states.set(db, (state = { writes: 0, total: 0, running: false }));
  state.writes++;
  state.total++;
}

/** Called after a commit: refreshes the statistics in the background when enough was written. */
export function afterCommit(db: SqlDatabase): void {
  const state = states.get(db);
  const statement = db.dialect.analyze?.(TABLES);
  if (!state || !statement || state.writes < MIN_WRITES) return;
  clearTimeout(state.quiet);
  if (state.running || state.writes < state.total / 4) whenQuiet(db, state, statement);
  else refresh(db, state, statement);
}

function whenQuiet(db: SqlDatabase, state: State, statement: string): void {
  state.quiet = setTimeout(() => {
    if (state.running) whenQuiet(db, state, statement);
    else if (state.writes >= MIN_WRITES) refresh(db, state, statement);
  }, QUIET_MS).unref();
}

function refresh(db: SqlDatabase, state: State, statement: string): void {
  state.running = true;
  state.writes = 0;
  const vacuum = db.dialect.vacuum?.(TABLES);
  setImmediate(() => {
    // The vacuum apart: past the statement timeout on a large database it is cancelled, the
    // statistics are not.
    db.execute(statement)
      .catch(() => undefined)
      .then(() => (vacuum ? db.execute(vacuum) : 0))
      .catch(() => undefined)
      .finally(() => {
        state.running = false;
      });
  });
}
