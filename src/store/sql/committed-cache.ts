import type { StoredVersion } from '../types.js';

/** What an entry costs besides its JSON, roughly (the object, its strings, the map slot). */
const ENTRY_OVERHEAD = 256;

/**
 * Current versions read outside transactions, kept between requests by a database that learns of
 * every commit as it happens (SqlDatabase.committedCache: SQLite's writer thread, the database's
 * only writer). Each commit drops the entries of the keys its unit declared (SoleWriter.writing),
 * every entry when the unit wrote rows of no declared key, before the unit's caller is answered:
 * a read that follows a write's answer never sees the version before it.
 *
 * Bounded by the JSON it holds (UTF-16 code units × 2 ≈ bytes); the entries read least recently go first.
 */
export class CommittedCache {
  private readonly entries = new Map<string, { version: StoredVersion; size: number }>();
  private size = 0;
  private commits = 0;

  constructor(private readonly maxBytes: number) {}

  /** Commits seen so far: read it before a read starts and hand it to `keep`. */
  get clock(): number {
    return this.commits;
  }

  /** A copy of the version kept for `key` (callers may change what they get); it is now the last to go. */
  get(key: string): StoredVersion | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { ...entry.version };
  }

  /** Keeps a version read when the clock read `clock`, unless a commit came in between. */
  keep(key: string, version: StoredVersion, clock: number): void {
    if (clock !== this.commits) return;
    const size = 2 * (version.json?.length ?? 0) + ENTRY_OVERHEAD;
    // One resource never takes more than an eighth of the cache.
    if (size * 8 > this.maxBytes) return;
    this.drop(key);
    this.entries.set(key, { version: { ...version }, size });
    this.size += size;
    for (const oldest of this.entries.keys()) {
      if (this.size <= this.maxBytes) break;
      this.drop(oldest);
    }
  }

  /** A unit committed: its keys' entries go (all of them when `keys` is undefined). */
  committed(keys: Iterable<string> | undefined): void {
    this.commits++;
    if (keys === undefined) {
      this.entries.clear();
      this.size = 0;
    } else for (const key of keys) this.drop(key);
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.size -= entry.size;
  }
}
