import { parameterChanges } from '../../search/parameter-changes.js';
import { defaultParameterSet, fingerprintOf, type ParameterIdentity, type SearchParameterSet } from '../../search/parameter-set.js';
import type { SqlDatabase, SqlExecutor } from './driver.js';
import { reindex, type ReindexOptions, type ReindexResult } from './reindex.js';

/**
 * Which search parameters the stored index was built with, kept in `kiln_setting`: the
 * fingerprint of their set (search/parameter-set.ts), and the definitions themselves, so that a
 * change rebuilds only the rows of the parameters that changed. When a server starts with another
 * set, it rebuilds the index before serving, so that no search answers from rows the old
 * definitions made. Processes sharing a database take the same lock, so one rebuilds and the
 * others find the index current once it is done.
 */

export type IndexUpkeepOptions = Omit<ReindexOptions, 'registry' | 'only'>;

const FINGERPRINT = 'search.fingerprint';
const IDENTITY = 'search.parameters';
/** Stored while a rebuild runs: an interrupted rebuild matches no set, so the next start redoes it in full. */
const REBUILDING = 'rebuilding';
const LOCK = 'kiln.reindex';

interface IndexState {
  fingerprint: string;
  /** What the index was built with; undefined when unknown (a rebuild was interrupted). */
  identity?: ParameterIdentity;
}

async function setting(sql: SqlExecutor, name: string): Promise<string | undefined> {
  const rows = await sql.query<{ value: string }>('SELECT value FROM kiln_setting WHERE name = ?', [name]);
  return rows[0]?.value;
}

export async function indexState(sql: SqlExecutor): Promise<IndexState> {
  const fingerprint = await setting(sql, FINGERPRINT);
  if (fingerprint === undefined) {
    // Databases record their set when created (recordNewIndex); those that did not were created
    // before, and indexed with HL7's R4 set alone in the first extraction format.
    const identity: ParameterIdentity = { ...defaultParameterSet().identity, format: 1 };
    return { fingerprint: fingerprintOf(identity), identity };
  }
  const identity = await setting(sql, IDENTITY);
  return { fingerprint, ...(identity && fingerprint !== REBUILDING ? { identity: JSON.parse(identity) as ParameterIdentity } : {}) };
}

async function writeState(tx: SqlExecutor, fingerprint: string, identity: ParameterIdentity | undefined): Promise<void> {
  const upsert = 'INSERT INTO kiln_setting (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value';
  await tx.execute(upsert, [FINGERPRINT, fingerprint]);
  if (identity) await tx.execute(upsert, [IDENTITY, JSON.stringify(identity)]);
  else await tx.execute('DELETE FROM kiln_setting WHERE name = ?', [IDENTITY]);
}

function saveState(db: SqlDatabase, fingerprint: string, identity: ParameterIdentity | undefined): Promise<void> {
  return db.transaction((tx) => writeState(tx, fingerprint, identity));
}

/** A database created just now (by the migrations' transaction `tx`): its empty index is current for HL7's R4 set. */
export function recordNewIndex(tx: SqlExecutor): Promise<void> {
  const set = defaultParameterSet();
  return writeState(tx, set.fingerprint, set.identity);
}

/** Rebuilds the rows the change of parameters touches; undefined when the index was current. */
export async function ensureIndexCurrent(db: SqlDatabase, parameters: SearchParameterSet, options: IndexUpkeepOptions = {}): Promise<ReindexResult | undefined> {
  if ((await indexState(db)).fingerprint === parameters.fingerprint) return undefined;
  return db.exclusive(LOCK, async (session) => {
    // Another process may have rebuilt it while this one waited for the lock.
    const state = await indexState(session);
    if (state.fingerprint === parameters.fingerprint) return undefined;
    return rebuild(session, parameters, { ...options, ...scopeOf(parameterChanges(state.identity, parameters)) });
  });
}

/** Rebuilds every row of every resource, whatever the index was built with (`kiln reindex`). */
export function reindexNow(db: SqlDatabase, parameters: SearchParameterSet, options: IndexUpkeepOptions = {}): Promise<ReindexResult> {
  return db.exclusive(LOCK, (session) => rebuild(session, parameters, options));
}

/** The changed parameters' rows, or every row, full text included. */
function scopeOf(changes: ReturnType<typeof parameterChanges>): Pick<ReindexOptions, 'only' | 'fullText'> {
  return changes ? { only: changes } : { fullText: true };
}

async function rebuild(db: SqlDatabase, parameters: SearchParameterSet, options: Omit<ReindexOptions, 'registry'>): Promise<ReindexResult> {
  await saveState(db, REBUILDING, undefined);
  const result = await reindex(db, { ...options, registry: parameters.registry });
  await saveState(db, parameters.fingerprint, parameters.identity);
  return result;
}
