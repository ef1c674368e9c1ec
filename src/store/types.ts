import type { Resource } from '../fhir/types.js';
import type { SearchParameterSet } from '../search/parameter-set.js';
import type { ParsedSearch } from '../search/parse.js';
import type { AccessLimit, CompartmentScope } from '../search/sql/plan.js';

export type { AccessLimit, CompartmentScope } from '../search/sql/plan.js';

/**
 * The Store contract: versioned resources, their history and atomic units of work.
 * Every backend (store/sqlite, store/postgres, …) implements it and passes the same behaviour
 * suite in test/store/. The store never decides FHIR rules (version numbering, preconditions):
 * interactions do, inside a transaction; the store guarantees atomicity and that a
 * (tenant, type, id, version) is written at most once.
 *
 * `tenant` scopes every call; it is '' when multi-tenancy is off.
 */

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One stored version of a resource, as read back. */
export interface StoredVersion {
  resourceType: string;
  id: string;
  /** Positive integer, as a string ("1", "2", …). */
  versionId: string;
  /** ISO 8601 instant with milliseconds, UTC (`2026-11-27T09:11:02.123Z`). */
  lastUpdated: string;
  deleted: boolean;
  /** The interaction that created this version (for history entries' `request`). */
  method: WriteMethod;
  /** The stored JSON text, `meta.versionId`/`meta.lastUpdated` included. Absent for deletions. */
  json?: string;
}

/** A version to append. */
export interface NewVersion {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  deleted: boolean;
  method: WriteMethod;
  /** The JSON text to store (absent for deletions). */
  json?: string;
  /** The same resource, parsed, so that indexers need not parse `json` again. */
  resource?: Resource;
  /** This server's base URL(s): absolute references under them are indexed as local `Type/id`. */
  baseUrls?: readonly string[];
}

export interface HistoryQuery {
  /** Limit to a type (type-level history) … */
  resourceType?: string;
  /** … and an id (instance-level history). */
  id?: string;
  /** Only versions with lastUpdated >= since (ISO instant). */
  since?: string;
  /**
   * Only versions that were current at some point in this period (the `_at` date's precision as
   * a range of ISO instants): lastUpdated <= end, and not superseded at or before start.
   */
  at?: { start: string; end: string };
  /**
   * Only versions of resources that meet this limit now (authorization's, see SearchQuery.limit).
   * A deleted resource has no search index to judge it by: its versions stay, for the caller to judge.
   */
  limit?: AccessLimit;
  /** Page size. */
  count: number;
  /** Opaque cursor returned as `nextCursor` by the previous page. */
  cursor?: string;
}

export interface HistoryPage {
  /** Newest first. */
  versions: StoredVersion[];
  /** Present when there are more versions after this page. */
  nextCursor?: string;
  /**
   * Number of versions matching the query (all pages). Absent under a `limit`: its caller judges
   * the versions further, so such a count would include versions it hides.
   */
  total?: number;
}

/** A search (http://hl7.org/fhir/R4/search.html) as the store runs it. */
export interface SearchQuery {
  /** The parsed search; its `types` are the types searched (empty: every type). */
  search: ParsedSearch;
  /** Only resources in this compartment (compartment search, $everything). */
  compartment?: CompartmentScope;
  /** Only resources within authorization's limit (a SMART caller's reach); matches, paging and totals alike. */
  limit?: AccessLimit;
  /** Page size; 0 returns no matches (e.g. `_summary=count`). */
  count: number;
  /** Opaque cursor: a previous page's nextCursor or previousCursor. */
  cursor?: string;
  /** Skip this many matches (first page only; later pages use cursors). */
  offset?: number;
  /**
   * `none` leaves `total` out; `accurate` counts every match; `estimate` is exact when the first
   * page holds every match or the candidates are few, else extrapolated from a sample (bounded work).
   */
  total: 'none' | 'estimate' | 'accurate';
  /** Resolve `_include`/`_revinclude` (default true). */
  includes?: boolean;
}

export interface SearchPage {
  /** This page's matches, in result order. */
  matches: StoredVersion[];
  /** Resources added by _include/_revinclude, each once, none of them a match of this page. */
  included: StoredVersion[];
  /** Number of matches on all pages, unless `total: 'none'`. */
  total?: number;
  nextCursor?: string;
  previousCursor?: string;
}

export interface StoreReader {
  /** The current (latest) version of a resource, deleted or not; undefined if it never existed. */
  readCurrent(tenant: string, resourceType: string, id: string): Promise<StoredVersion | undefined>;
  readVersion(tenant: string, resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined>;
  history(tenant: string, query: HistoryQuery): Promise<HistoryPage>;
  /** Current, non-deleted resources matching a search; consistent with every committed write (and, in a transaction, its own). */
  search(tenant: string, query: SearchQuery): Promise<SearchPage>;
}

export interface StoreTransaction extends StoreReader {
  /**
   * Like readCurrent, but the row stays locked (where the backend locks) until the transaction
   * ends, so a version computed from it cannot be taken by a concurrent writer.
   */
  readCurrentForUpdate(tenant: string, resourceType: string, id: string): Promise<StoredVersion | undefined>;
  /**
   * Appends a version and makes it current. Throws a FhirError 'conflict' if that version of the
   * resource already exists (a concurrent writer won).
   */
  writeVersion(tenant: string, version: NewVersion): Promise<void>;
  /**
   * Holds a lock on `key` until the transaction ends, so that transactions taking the same key
   * run one after the other (conditional creates and updates lock their criteria, so that two
   * of them cannot both find no match and both create). A no-op where writers are serialised.
   */
  lock(key: string): Promise<void>;
  /**
   * Runs `work` and then undoes every write it made (a savepoint rolled back), returning what it
   * returned, or its error: to learn what some writes would lead to without keeping them.
   */
  tentatively<T>(work: () => Promise<T>): Promise<T>;
}

/** How an index rebuild reports (`Store.useSearchParameters`, `kiln reindex`). */
export interface IndexUpkeep {
  /** The base URLs under which absolute references point at this server, per tenant. */
  baseUrls?: (tenant: string) => readonly string[];
  /** Called after each batch of a rebuild, and once more when it is done (`finished`). */
  onProgress?: (progress: { resources: number; total: number; changed: number; elapsedMs: number; finished: boolean }) => void;
}

/** What a unit of work tells the store about itself. */
export interface TransactionOptions {
  /**
   * One interaction on one resource (create, update, patch, delete), not a Bundle: SQLite keeps
   * its journals in memory, which is faster for small transactions and slow for large ones.
   */
  small?: boolean;
}

export interface Store extends StoreReader {
  /** Runs `work` as one atomic, isolated unit: all its writes commit together or not at all. */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs read-only `work` on one consistent snapshot: all its reads see the store as of one moment,
   * whatever commits meanwhile. Interactions that read more than once (a search's page, total and
   * includes) use it; stores without it answer each read on its own.
   */
  snapshot?<T>(work: (reader: StoreReader) => Promise<T>): Promise<T>;
  /**
   * Indexes writes with these search parameters from now on; when the stored index was built
   * with other ones, rebuilds it first and resolves when it is done. Stores without a search
   * index of their own need not implement it.
   */
  useSearchParameters?(parameters: SearchParameterSet, upkeep?: IndexUpkeep): Promise<unknown>;
  close(): Promise<void>;
}
