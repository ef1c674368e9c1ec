import { FhirError } from '../../fhir/errors.js';
import type { HistoryPage, HistoryQuery, NewVersion, SearchPage, SearchQuery, Store, StoredVersion, StoreReader, StoreTransaction, TransactionOptions, WriteMethod } from '../types.js';
import { isLostRace, type Dialect, type SqlDatabase, type SoleWriter, type SqlExecutor, type SqlValue } from './driver.js';
import { clearIndex, indexRows, rewriteIndex, writeIndex, writeIndexRows } from './search-index.js';
import { runSearch } from './search-store.js';
import { typesReached } from '../../search/types-reached.js';
import { accessMembers } from '../../search/sql/access.js';
import { afterCommit, noteWrite } from './statistics.js';
import type { Resource } from '../../fhir/types.js';
import type { SearchParamRegistry } from '../../search/parameters.js';
import { defaultParameterSet, type SearchParameterSet } from '../../search/parameter-set.js';
import { ensureIndexCurrent, type IndexUpkeepOptions, reindexNow } from './index-state.js';
import type { ReindexResult } from './reindex.js';

interface VersionRow {
  type: string;
  id: string;
  version: number;
  last_updated: string;
  deleted: number;
  method: string;
  json: string | null;
  seq?: number | string;
}

const versionColumns = 'v.type, v.id, v.version, v.last_updated, v.deleted, v.method, v.json';

/** Another writer took this version first; the unit of work may be run again. */
export class ConcurrentWriteError extends FhirError {
  constructor(message: string) {
    super('conflict', message);
  }
}

function concurrentWrite(resourceType: string, id: string, versionId: string): string {
  return `Version ${versionId} of ${resourceType}/${id} was written concurrently`;
}

function toStoredVersion(row: VersionRow): StoredVersion {
  const stored: StoredVersion = {
    resourceType: row.type,
    id: row.id,
    versionId: String(row.version),
    lastUpdated: row.last_updated,
    deleted: Number(row.deleted) === 1,
    method: row.method as WriteMethod,
  };
  if (row.json !== null) stored.json = row.json;
  return stored;
}

/** Reads shared by the store (outside transactions) and by transactions. */
class SqlReader implements StoreReader {
  constructor(
    protected readonly sql: SqlExecutor,
    protected readonly dialect: Dialect,
    private readonly lockSuffix = '',
  ) {}

  async readCurrent(tenant: string, resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const rows = await this.readerOf(resourceKey(tenant, resourceType, id)).query<VersionRow & { rkey: number | string }>(
      `SELECT ${versionColumns}, r.rkey FROM resource r JOIN resource_version v ON v.seq = r.seq
       WHERE r.tenant = ? AND r.type = ? AND r.id = ?`,
      [tenant, resourceType, id],
    );
    if (rows[0]) this.sawKey(tenant, resourceType, id, rows[0].rkey);
    return rows[0] && toStoredVersion(rows[0]);
  }

  /** Where to read what only writes of this resource change. */
  protected readerOf(_key: string): SqlExecutor {
    return this.sql;
  }

  /** A resource's key, seen by a read (a transaction keeps it for its writes). */
  protected sawKey(_tenant: string, _resourceType: string, _id: string, _rkey: number | string): void {}

  async readCurrentLocked(tenant: string, resourceType: string, id: string): Promise<StoredVersion | undefined> {
    if (!this.lockSuffix) return this.readCurrent(tenant, resourceType, id);
    // Lock the logical row first (FOR UPDATE cannot apply to the joined version row's peers).
    const locked = await this.sql.query<{ seq: number | string }>(
      `SELECT seq FROM resource WHERE tenant = ? AND type = ? AND id = ?${this.lockSuffix}`,
      [tenant, resourceType, id],
    );
    if (!locked[0]) return undefined;
    const rows = await this.sql.query<VersionRow>(`SELECT ${versionColumns} FROM resource_version v WHERE v.seq = ?`, [locked[0].seq as SqlValue]);
    return rows[0] && toStoredVersion(rows[0]);
  }

  async readVersion(tenant: string, resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    // Only the canonical spelling names a version: '1.0', '01' or '1e0' are not version '1'.
    if (!/^[1-9]\d{0,14}$/.test(versionId)) return undefined;
    const version = Number(versionId);
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${versionColumns} FROM resource_version v WHERE v.tenant = ? AND v.type = ? AND v.id = ? AND v.version = ?`,
      [tenant, resourceType, id, version],
    );
    return rows[0] && toStoredVersion(rows[0]);
  }

  search(tenant: string, query: SearchQuery): Promise<SearchPage> {
    return runSearch(this.sql, this.dialect, tenant, query);
  }

  async history(tenant: string, query: HistoryQuery): Promise<HistoryPage> {
    const where: string[] = ['v.tenant = ?'];
    const params: SqlValue[] = [tenant];
    if (query.resourceType) {
      where.push('v.type = ?');
      params.push(query.resourceType);
    }
    if (query.id) {
      where.push('v.id = ?');
      params.push(query.id);
    }
    if (query.since) {
      where.push('v.last_updated >= ?');
      params.push(query.since);
    }
    if (query.at) {
      where.push(`v.last_updated <= ? AND NOT EXISTS (SELECT 1 FROM resource_version n
        WHERE n.tenant = v.tenant AND n.type = v.type AND n.id = v.id AND n.version > v.version AND n.last_updated <= ?)`);
      params.push(query.at.end, query.at.start);
    }
    if (query.limit) {
      // Driven by the resources within the limit (and the deleted ones, which have no index to judge).
      const types = query.resourceType ? [query.resourceType] : undefined;
      const members = accessMembers(tenant, query.limit, types, { textSearch: this.dialect.fullText, probeFence: this.dialect.probeFence, listed: this.dialect.listed });
      where.push(`(v.type, v.id) IN (${members.text} UNION SELECT d.type, d.id FROM resource d WHERE d.tenant = ? AND ${types ? 'd.type = ? AND ' : ''}d.deleted = 1)`);
      params.push(...members.params, tenant, ...(types ?? []));
    }
    const filter = where.join(' AND ');
    // Under a limit the caller judges versions further: a count would include ones it hides.
    const counted = query.limit ? undefined : await this.sql.query<{ total: number | string }>(`SELECT COUNT(*) AS total FROM resource_version v WHERE ${filter}`, params);
    const pageWhere = query.cursor ? `${filter} AND v.seq < ?` : filter;
    const pageParams = query.cursor ? [...params, decodeCursor(query.cursor)] : params;
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${versionColumns}, v.seq FROM resource_version v WHERE ${pageWhere} ORDER BY v.seq DESC LIMIT ?`,
      [...pageParams, query.count + 1],
    );
    const page: HistoryPage = { versions: rows.slice(0, query.count).map(toStoredVersion) };
    if (counted) page.total = Number(counted[0].total);
    if (rows.length > query.count) page.nextCursor = encodeCursor(rows[query.count - 1].seq!);
    return page;
  }
}

function encodeCursor(seq: number | string): string {
  return `s${seq}`;
}

function decodeCursor(cursor: string): number {
  const seq = /^s(\d{1,18})$/.exec(cursor);
  if (!seq) throw new FhirError('invalid', `Invalid paging cursor '${cursor}'`);
  return Number(seq[1]);
}

class SqlTransaction extends SqlReader implements StoreTransaction {
  /** Set when a write lost a race, however the caller wraps or handles the error it got. */
  lostRace = false;
  private savepoints = 0;
  /** Keys of the resources this transaction read, by tenant/type/id (a resource's key never changes). */
  private readonly keys = new Map<string, number | string>();

  constructor(
    sql: SqlExecutor,
    private readonly db: SqlDatabase,
    private readonly registry: SearchParamRegistry,
  ) {
    super(sql, db.dialect, db.dialect.forUpdate);
  }

  protected override sawKey(tenant: string, resourceType: string, id: string, rkey: number | string): void {
    this.keys.set(resourceKey(tenant, resourceType, id), rkey);
  }

  /** Committed data, when no write of this resource is in flight (SoleWriter.committedReader). */
  protected override readerOf(key: string): SqlExecutor {
    return this.sql.soleWriter?.committedReader([key]) ?? this.sql;
  }

  /** On committed data when no write of a type it reads is in flight (a Bundle's conditional references, say). */
  override search(tenant: string, query: SearchQuery): Promise<SearchPage> {
    const writer = this.sql.soleWriter;
    const types = writer && typesSearched(query);
    const reader = types && writer.committedReader(types.map((type) => typeKey(tenant, type)));
    return runSearch(reader ?? this.sql, this.dialect, tenant, query);
  }

  readCurrentForUpdate(tenant: string, resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.readCurrentLocked(tenant, resourceType, id);
  }

  async tentatively<T>(work: () => Promise<T>): Promise<T> {
    const savepoint = `kiln_tentative_${++this.savepoints}`;
    await this.savepointStatement(`SAVEPOINT ${savepoint}`);
    try {
      return await work();
    } finally {
      // Keys seen or given during the work may belong to rows rolled back. (Should a posted write
      // of the work have failed, the rollback is refused with its error: the whole unit fails.)
      this.keys.clear();
      await this.savepointStatement(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      await this.savepointStatement(`RELEASE SAVEPOINT ${savepoint}`);
    }
  }

  /**
   * A savepoint statement changes no data of its own (the writes it undoes declared their keys):
   * declared as writing none, it leaves the other resources' cached versions alone.
   */
  private async savepointStatement(statement: string): Promise<void> {
    const writer = this.sql.soleWriter;
    writer?.writing([]);
    try {
      await this.sql.execute(statement);
    } finally {
      writer?.writing(undefined);
    }
  }

  async lock(key: string): Promise<void> {
    if (this.db.dialect.advisoryLock) await this.sql.query(this.db.dialect.advisoryLock, [key]);
  }

  async writeVersion(tenant: string, version: NewVersion): Promise<void> {
    const versionNumber = Number(version.versionId);
    const writer = this.sql.soleWriter;
    if (writer) {
      // Every row written from here on is this resource's, of its type (SoleWriter.writing).
      const key = resourceKey(tenant, version.resourceType, version.id);
      // Where the rows before this write are read: chosen before the write makes them in flight.
      const reader = versionNumber === 1 ? undefined : this.readerOf(key);
      writer.writing([key, typeKey(tenant, version.resourceType)]);
      try {
        return await (reader ? this.writeNextVersion(writer, tenant, version, reader) : this.writeFirstVersion(writer, tenant, version));
      } finally {
        writer.writing(undefined);
      }
    }
    // DO NOTHING rather than a unique violation: on PostgreSQL a failed statement aborts the
    // whole transaction, on SQLite it does not; this way both report the lost race the same.
    const inserted = await this.sql.query<{ seq: number | string }>(
      `INSERT INTO resource_version (tenant, type, id, version, last_updated, deleted, method, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, type, id, version) DO NOTHING RETURNING seq`,
      [tenant, version.resourceType, version.id, versionNumber, version.lastUpdated, version.deleted ? 1 : 0, version.method, version.json ?? null],
    );
    if (inserted.length === 0) {
      this.lostRace = true;
      throw new ConcurrentWriteError(concurrentWrite(version.resourceType, version.id, version.versionId));
    }
    noteWrite(this.db);
    const [{ rkey }] = await this.sql.query<{ rkey: number | string }>(
      `INSERT INTO resource (tenant, type, id, version, seq, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant, type, id) DO UPDATE SET version = excluded.version, seq = excluded.seq,
         last_updated = excluded.last_updated, deleted = excluded.deleted
       RETURNING rkey`,
      [tenant, version.resourceType, version.id, versionNumber, inserted[0].seq as SqlValue, version.lastUpdated, version.deleted ? 1 : 0],
    );
    // Search index rows of the current version, in this same transaction (docs/search.md).
    const resource = currentResource(version);
    const target = { rkey, tenant, resourceType: version.resourceType };
    if (!resource) {
      if (versionNumber > 1) await clearIndex(this.sql, this.dialect, rkey);
    } else if (versionNumber > 1) await rewriteIndex(this.sql, this.dialect, target, resource, version.baseUrls ?? [], this.registry);
    else await writeIndex(this.sql, this.dialect, target, resource, version.baseUrls ?? [], this.registry);
  }

  /*
   * Where the executor is the database's sole writer (SQLite's writer thread), a version is
   * written without waiting for the database: its rows are numbered here and posted, and only
   * what the unit must know first is awaited (an existing resource's key and index rows). Should
   * the version be taken meanwhile (a lost race, as above), the unit fails as it ends, and the
   * store runs it again. Index rows are extracted first, while the database may still be busy
   * with earlier units' rows.
   */

  private async writeFirstVersion(writer: SoleWriter, tenant: string, version: NewVersion): Promise<void> {
    const resource = currentResource(version);
    const rows = resource ? indexRows(resource, version.baseUrls ?? [], this.registry) : undefined;
    const seq = this.postVersion(writer, tenant, version);
    const rkey = writer.nextKey('rkey');
    this.keys.set(resourceKey(tenant, version.resourceType, version.id), rkey);
    postNewResource(writer, tenant, version, rkey, seq);
    if (rows) await writeIndexRows(this.sql, this.dialect, { rkey, tenant, resourceType: version.resourceType }, rows);
  }

  /** `reader`: where this resource's rows as they were before this write can be read. */
  private async writeNextVersion(writer: SoleWriter, tenant: string, version: NewVersion, reader: SqlExecutor): Promise<void> {
    const sql = this.sql;
    const resource = currentResource(version);
    const seq = this.postVersion(writer, tenant, version);
    const key = resourceKey(tenant, version.resourceType, version.id);
    let rkey = this.keys.get(key);
    rkey ??= (await reader.query<{ rkey: number | string }>('SELECT rkey FROM resource WHERE tenant = ? AND type = ? AND id = ?', [tenant, version.resourceType, version.id]))[0]?.rkey;
    if (rkey === undefined) {
      // Versions without their resource row (written without version 1, as the Store contract allows).
      rkey = writer.nextKey('rkey');
      this.keys.set(key, rkey);
      postNewResource(writer, tenant, version, rkey, seq);
      if (resource) await writeIndex(sql, this.dialect, { rkey, tenant, resourceType: version.resourceType }, resource, version.baseUrls ?? [], this.registry);
      return;
    }
    // A row that is not there (a key gone stale) fails the unit rather than leaving the index orphaned.
    writer.post(
      'UPDATE resource SET version = ?, seq = ?, last_updated = ?, deleted = ? WHERE rkey = ?',
      [Number(version.versionId), seq, version.lastUpdated, version.deleted ? 1 : 0, rkey as SqlValue],
      concurrentWrite(version.resourceType, version.id, version.versionId),
    );
    const target = { rkey, tenant, resourceType: version.resourceType };
    if (resource) await rewriteIndex(sql, this.dialect, target, resource, version.baseUrls ?? [], this.registry, reader);
    else await clearIndex(sql, this.dialect, rkey);
  }

  /** Posts the version's row; returns its `seq`. */
  private postVersion(writer: SoleWriter, tenant: string, version: NewVersion): number {
    const seq = writer.nextKey('seq');
    writer.post(
      `INSERT INTO resource_version (seq, tenant, type, id, version, last_updated, deleted, method, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, type, id, version) DO NOTHING`,
      [seq, tenant, version.resourceType, version.id, Number(version.versionId), version.lastUpdated, version.deleted ? 1 : 0, version.method, version.json ?? null],
      concurrentWrite(version.resourceType, version.id, version.versionId),
    );
    noteWrite(this.db);
    return seq;
  }
}

function postNewResource(writer: SoleWriter, tenant: string, version: NewVersion, rkey: number, seq: number): void {
  writer.post(`INSERT INTO resource (rkey, tenant, type, id, version, seq, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
    rkey,
    tenant,
    version.resourceType,
    version.id,
    Number(version.versionId),
    seq,
    version.lastUpdated,
    version.deleted ? 1 : 0,
  ]);
}

/** The resource a version holds, parsed when only its JSON was given; none for a deletion. */
function currentResource(version: NewVersion): Resource | undefined {
  return version.deleted ? undefined : (version.resource ?? (version.json ? (JSON.parse(version.json) as Resource) : undefined));
}

/**
 * The executor, noting when an awaited statement is refused because a posted write of the unit
 * lost its race (SqlExecutor.post): however the unit then wraps or handles the error, the store
 * knows to run it again.
 */
function noticingLostRaces(sql: SqlExecutor, noticed: () => void): SqlExecutor {
  if (!sql.post) return sql;
  const watch = <T>(result: Promise<T>): Promise<T> =>
    result.catch((error: unknown) => {
      if (isLostRace(error)) noticed();
      throw error;
    });
  return {
    ...sql,
    query: (text, params) => watch(sql.query(text, params)),
    execute: (text, params) => watch(sql.execute(text, params)),
  };
}

/** A resource's identity as a key of SoleWriter.writing. */
function resourceKey(tenant: string, resourceType: string, id: string): string {
  return `${tenant}/${resourceType}/${id}`;
}

/** The key of every write of a type's resources (SoleWriter.writing). */
function typeKey(tenant: string, resourceType: string): string {
  return `${tenant}/${resourceType}`;
}

/**
 * The types whose writes can change what a search finds, when they are few enough to know: the
 * types searched and those its chains and `_has` reach. Not for a system-wide search, one in a
 * compartment or within an access limit, or with includes (they reach further).
 */
function typesSearched(query: SearchQuery): string[] | undefined {
  const { search } = query;
  if (search.types.length === 0 || query.compartment || query.limit) return undefined;
  if (query.includes !== false && (search.include.length > 0 || search.revinclude.length > 0)) return undefined;
  const reached = typesReached(search.clauses);
  return reached.limited ? undefined : [...new Set([...search.types, ...reached.types])];
}

export interface SqlStoreOptions {
  /** How many times a unit of work that lost a race is run again. */
  retries?: number;
}

/** A short random pause before a retry, growing with the attempt, so racers spread out. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 5 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The Store contract over any SQL database that provides the driver seam. */
export class SqlStore extends SqlReader implements Store {
  private readonly retries: number;
  private parameters: SearchParameterSet = defaultParameterSet();

  constructor(private readonly db: SqlDatabase, options: SqlStoreOptions = {}) {
    super(db, db.dialect);
    this.retries = options.retries ?? 5;
  }

  /**
   * Runs `work` in a database transaction. When it lost a race (another writer took the version
   * it meant to write, or the database aborted it: serialization failure, deadlock), nothing of
   * it was committed, so it is safe to run `work` again from the start on fresh reads.
   */
  async transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let tx: SqlTransaction | undefined;
      try {
        const registry = this.parameters.registry;
        const result = await this.db.transaction((sql) => {
          const noticing = noticingLostRaces(sql, () => (tx!.lostRace = true));
          return work((tx = new SqlTransaction(noticing, this.db, registry)));
        }, options);
        afterCommit(this.db);
        return result;
      } catch (caught) {
        // A posted write that lost its race fails the unit as it ends (SqlExecutor.post).
        const error = isLostRace(caught) ? new ConcurrentWriteError((caught as Error).message) : caught;
        if (!tx?.lostRace && !(error instanceof ConcurrentWriteError) && !this.db.dialect.isRetryable(error)) throw error;
        if (attempt >= this.retries) {
          if (error instanceof FhirError) throw error;
          throw new FhirError('conflict', `The transaction kept conflicting with concurrent transactions (${(error as Error).message}); try again`);
        }
        await backoff(attempt);
      }
    }
  }

  /** Through the database's cache of committed versions where it has one (SqlDatabase.committedCache). */
  override async readCurrent(tenant: string, resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const cache = this.db.committedCache;
    if (!cache) return super.readCurrent(tenant, resourceType, id);
    const key = resourceKey(tenant, resourceType, id);
    const cached = cache.get(key);
    if (cached) return cached;
    const clock = cache.clock;
    const version = await super.readCurrent(tenant, resourceType, id);
    if (version) cache.keep(key, version, clock);
    return version;
  }

  /** Runs read-only `work` on one consistent snapshot of the store (SqlDatabase.snapshot). */
  snapshot<T>(work: (reader: StoreReader) => Promise<T>): Promise<T> {
    return this.db.snapshot((sql) => work(new SqlReader(sql, this.db.dialect)));
  }

  /**
   * Indexes writes with `parameters` from now on. When the index was built with other parameters
   * (their fingerprint differs), rebuilds it first; resolves once the index matches them.
   */
  async useSearchParameters(parameters: SearchParameterSet, options: IndexUpkeepOptions = {}): Promise<ReindexResult | undefined> {
    this.parameters = parameters;
    return ensureIndexCurrent(this.db, parameters, options);
  }

  /** Rebuilds the index rows of every current resource with `parameters`, which it then uses (`kiln reindex`). */
  reindex(parameters: SearchParameterSet, options: IndexUpkeepOptions = {}): Promise<ReindexResult> {
    this.parameters = parameters;
    return reindexNow(this.db, parameters, options);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
