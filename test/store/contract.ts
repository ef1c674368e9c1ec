/**
 * The store behaviour suite: every backend runs exactly these tests (test/store/*.test.ts).
 * Each test works in its own tenant, so one store serves the whole suite and system-level
 * history still sees only the test's own writes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { FhirError } from '../../src/fhir/errors.js';
import { ConcurrentWriteError } from '../../src/store/sql/sql-store.js';
import type { NewVersion, Store, StoreTransaction, WriteMethod } from '../../src/store/types.js';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

const newTenant = () => `t-${randomUUID()}`;

/** Instants one second apart from a fixed start, so ordering and ranges are exact. */
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

function version(resourceType: string, id: string, versionId: number, second: number, extra: Partial<NewVersion> = {}): NewVersion {
  const lastUpdated = at(second);
  const deleted = extra.deleted ?? false;
  const method: WriteMethod = extra.method ?? (deleted ? 'DELETE' : versionId === 1 ? 'POST' : 'PUT');
  const json = deleted ? undefined : JSON.stringify({ resourceType, id, meta: { versionId: String(versionId), lastUpdated }, note: `v${versionId}` });
  return { resourceType, id, versionId: String(versionId), lastUpdated, deleted, method, json, ...extra };
}

/** Writes each version in its own transaction, as interactions do. */
async function writeAll(store: Store, tenant: string, versions: NewVersion[]): Promise<void> {
  for (const v of versions) await store.transaction((tx) => tx.writeVersion(tenant, v));
}

/** What a single-resource update does: lock, derive the next version, append it. */
async function appendNext(tx: StoreTransaction, tenant: string, resourceType: string, id: string, note: string): Promise<string> {
  const current = await tx.readCurrentForUpdate(tenant, resourceType, id);
  const versionId = String(current ? Number(current.versionId) + 1 : 1);
  const json = JSON.stringify({ resourceType, id, meta: { versionId }, note });
  await tx.writeVersion(tenant, { resourceType, id, versionId, lastUpdated: new Date().toISOString(), deleted: false, method: 'PUT', json });
  return versionId;
}

const ids = (versions: { resourceType: string; id: string; versionId: string }[]) => versions.map((v) => `${v.resourceType}/${v.id}/${v.versionId}`);

export interface ContractOptions {
  /**
   * The store posts a new resource's first version without waiting for it (SQLite's writer
   * thread, SqlExecutor.post): a version 1 that exists fails the unit of work at its end, not at
   * the write, and the store runs the unit again (as in 'keeps losing the race').
   */
  firstVersionLostAtEnd?: boolean;
}

export function storeContract(name: string, open: () => Promise<OpenedStore>, options: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    before(async () => {
      ({ store, cleanup } = await open());
    });

    after(async () => {
      await cleanup();
    });

    describe('reads', () => {
      test('readCurrent of a resource that never existed is undefined', async () => {
        assert.equal(await store.readCurrent(newTenant(), 'Patient', 'nope'), undefined);
      });

      test('returns the stored JSON text byte for byte, with every field of the version', async () => {
        const tenant = newTenant();
        // Key order, spacing, escapes and non-ASCII text as given: the store never re-serialises.
        const json = '{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"z":1,"a":"ü€😀\\n\\"",  "n":1.50}';
        await store.transaction((tx) => tx.writeVersion(tenant, { ...version('Patient', 'p1', 1, 1), method: 'PUT', json }));
        assert.deepEqual(await store.readCurrent(tenant, 'Patient', 'p1'), {
          resourceType: 'Patient',
          id: 'p1',
          versionId: '1',
          lastUpdated: at(1),
          deleted: false,
          method: 'PUT',
          json,
        });
      });

      test('stores a resource whose strings contain U+0000 (PostgreSQL text cannot hold NUL)', async () => {
        const tenant = newTenant();
        const json = JSON.stringify({ resourceType: 'Patient', id: 'nul', name: [{ family: 'a\u0000b', text: 'x\u0000' }] });
        await store.transaction((tx) => tx.writeVersion(tenant, { ...version('Patient', 'nul', 1, 1), json, resource: JSON.parse(json) }));
        assert.equal((await store.readCurrent(tenant, 'Patient', 'nul'))?.json, json);
      });

      test('stores large resources whole', async () => {
        const tenant = newTenant();
        const json = JSON.stringify({ resourceType: 'Binary', id: 'big', data: 'x'.repeat(2_000_000) });
        await store.transaction((tx) => tx.writeVersion(tenant, { ...version('Binary', 'big', 1, 1), json }));
        assert.equal((await store.readCurrent(tenant, 'Binary', 'big'))?.json, json);
      });

      test('readCurrent is the latest version; readVersion reads any version', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1), version('Patient', 'p', 2, 2), version('Patient', 'p', 3, 3)]);
        const current = await store.readCurrent(tenant, 'Patient', 'p');
        assert.equal(current?.versionId, '3');
        assert.equal(current?.method, 'PUT');
        for (const n of [1, 2, 3]) {
          const v = await store.readVersion(tenant, 'Patient', 'p', String(n));
          assert.equal(v?.versionId, String(n));
          assert.equal(JSON.parse(v!.json!).note, `v${n}`);
          assert.equal(v?.lastUpdated, at(n));
        }
        assert.equal((await store.readVersion(tenant, 'Patient', 'p', '1'))?.method, 'POST');
      });

      test('readVersion of a missing or malformed version id is undefined', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1)]);
        for (const bad of ['2', '0', '-1', 'abc', '1.0', '', '99999999999999999999']) {
          assert.equal(await store.readVersion(tenant, 'Patient', 'p', bad), undefined, `version '${bad}'`);
        }
        assert.equal(await store.readVersion(tenant, 'Patient', 'other', '1'), undefined);
        assert.equal(await store.readVersion(tenant, 'Observation', 'p', '1'), undefined);
      });

      test('a deletion is a version without JSON; the resource can be created again after it', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1), version('Patient', 'p', 2, 2, { deleted: true })]);
        const deleted = await store.readCurrent(tenant, 'Patient', 'p');
        assert.equal(deleted?.deleted, true);
        assert.equal(deleted?.method, 'DELETE');
        assert.equal(deleted?.json, undefined);
        assert.equal('json' in deleted!, false);
        assert.equal((await store.readVersion(tenant, 'Patient', 'p', '2'))?.deleted, true);
        assert.equal((await store.readVersion(tenant, 'Patient', 'p', '1'))?.deleted, false);

        await writeAll(store, tenant, [version('Patient', 'p', 3, 3)]);
        const revived = await store.readCurrent(tenant, 'Patient', 'p');
        assert.equal(revived?.versionId, '3');
        assert.equal(revived?.deleted, false);
      });

      test('resource types and ids are case-sensitive and do not collide', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'abc', 1, 1), version('Patient', 'ABC', 1, 2), version('Group', 'abc', 1, 3)]);
        assert.equal((await store.readCurrent(tenant, 'Patient', 'ABC'))?.lastUpdated, at(2));
        assert.equal((await store.readCurrent(tenant, 'Group', 'abc'))?.lastUpdated, at(3));
        assert.equal((await store.readCurrent(tenant, 'Patient', 'abc'))?.lastUpdated, at(1));
      });
    });

    describe('tenants', () => {
      test('the same type and id in two tenants are two independent resources', async () => {
        const [a, b] = [newTenant(), newTenant()];
        await writeAll(store, a, [version('Patient', 'same', 1, 1), version('Patient', 'same', 2, 2)]);
        await writeAll(store, b, [version('Patient', 'same', 1, 5)]);
        assert.equal((await store.readCurrent(a, 'Patient', 'same'))?.versionId, '2');
        assert.equal((await store.readCurrent(b, 'Patient', 'same'))?.versionId, '1');
        assert.equal((await store.readCurrent(b, 'Patient', 'same'))?.lastUpdated, at(5));
        assert.equal(await store.readVersion(b, 'Patient', 'same', '2'), undefined);
        assert.equal(await store.readCurrent(newTenant(), 'Patient', 'same'), undefined);
      });

      test('history at every level sees only its own tenant', async () => {
        const [a, b] = [newTenant(), newTenant()];
        await writeAll(store, a, [version('Patient', 'x', 1, 1), version('Patient', 'x', 2, 2)]);
        await writeAll(store, b, [version('Patient', 'x', 1, 3), version('Observation', 'o', 1, 4)]);
        assert.equal((await store.history(a, { count: 10 })).total, 2);
        assert.deepEqual(ids((await store.history(b, { count: 10 })).versions), ['Observation/o/1', 'Patient/x/1']);
        assert.equal((await store.history(b, { resourceType: 'Patient', count: 10 })).total, 1);
        assert.equal((await store.history(b, { resourceType: 'Patient', id: 'x', count: 10 })).total, 1);
      });

      test('a version taken in one tenant is free in another', async () => {
        const [a, b] = [newTenant(), newTenant()];
        await writeAll(store, a, [version('Patient', 'p', 1, 1)]);
        await writeAll(store, b, [version('Patient', 'p', 1, 1)]);
        assert.equal((await store.readCurrent(b, 'Patient', 'p'))?.versionId, '1');
      });
    });

    describe('history', () => {
      /** Two patients and an observation, interleaved; p1 deleted at the end. */
      async function seed(tenant: string) {
        await writeAll(store, tenant, [
          version('Patient', 'p1', 1, 10),
          version('Patient', 'p2', 1, 20),
          version('Observation', 'o1', 1, 30),
          version('Patient', 'p1', 2, 40),
          version('Observation', 'o1', 2, 50),
          version('Patient', 'p1', 3, 60, { deleted: true }),
        ]);
      }

      test('system, type and instance history list versions newest first, with totals', async () => {
        const tenant = newTenant();
        await seed(tenant);
        const system = await store.history(tenant, { count: 100 });
        assert.deepEqual(ids(system.versions), ['Patient/p1/3', 'Observation/o1/2', 'Patient/p1/2', 'Observation/o1/1', 'Patient/p2/1', 'Patient/p1/1']);
        assert.equal(system.total, 6);
        assert.equal(system.nextCursor, undefined);

        const type = await store.history(tenant, { resourceType: 'Patient', count: 100 });
        assert.deepEqual(ids(type.versions), ['Patient/p1/3', 'Patient/p1/2', 'Patient/p2/1', 'Patient/p1/1']);
        assert.equal(type.total, 4);

        const instance = await store.history(tenant, { resourceType: 'Patient', id: 'p1', count: 100 });
        assert.deepEqual(ids(instance.versions), ['Patient/p1/3', 'Patient/p1/2', 'Patient/p1/1']);
        assert.equal(instance.total, 3);
        assert.deepEqual(
          instance.versions.map((v) => [v.deleted, v.method, v.json === undefined]),
          [
            [true, 'DELETE', true],
            [false, 'PUT', false],
            [false, 'POST', false],
          ],
        );
      });

      test('history of something that never existed is empty', async () => {
        const page = await store.history(newTenant(), { resourceType: 'Patient', id: 'none', count: 10 });
        assert.deepEqual(page, { versions: [], total: 0 });
      });

      test('since keeps versions updated at or after the instant', async () => {
        const tenant = newTenant();
        await seed(tenant);
        const page = await store.history(tenant, { since: at(40), count: 100 });
        assert.deepEqual(ids(page.versions), ['Patient/p1/3', 'Observation/o1/2', 'Patient/p1/2']);
        assert.equal(page.total, 3);
        assert.equal((await store.history(tenant, { resourceType: 'Observation', since: at(31), count: 100 })).total, 1);
        assert.equal((await store.history(tenant, { since: at(61), count: 100 })).total, 0);
      });

      test('at keeps the versions that were current at some point in the period', async () => {
        const tenant = newTenant();
        await seed(tenant);
        // At 00:00:45 exactly: p1 v2 (since 40), p2 v1, o1 v1 (until 50).
        const instant = await store.history(tenant, { at: { start: at(45), end: at(45) }, count: 100 });
        assert.deepEqual(ids(instant.versions), ['Patient/p1/2', 'Observation/o1/1', 'Patient/p2/1']);
        assert.equal(instant.total, 3);
        // Over 00:00:35–00:00:55 o1 v1 and v2 were both current at some point.
        const period = await store.history(tenant, { resourceType: 'Observation', at: { start: at(35), end: at(55) }, count: 100 });
        assert.deepEqual(ids(period.versions), ['Observation/o1/2', 'Observation/o1/1']);
        // Before anything existed, nothing was current.
        assert.equal((await store.history(tenant, { at: { start: at(5), end: at(5) }, count: 100 })).total, 0);
        // After the deletion, the deletion marker is p1's current version.
        const late = await store.history(tenant, { resourceType: 'Patient', id: 'p1', at: { start: at(70), end: at(70) }, count: 100 });
        assert.deepEqual(ids(late.versions), ['Patient/p1/3']);
      });

      test('pages follow the cursor newest first, without overlap or gaps; total counts all pages', async () => {
        const tenant = newTenant();
        await writeAll(
          store,
          tenant,
          Array.from({ length: 7 }, (_, i) => version('Patient', `p${i}`, 1, i)),
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.history(tenant, { count: 3, cursor });
          assert.equal(page.total, 7);
          assert.ok(page.versions.length <= 3);
          seen.push(...ids(page.versions));
          cursor = page.nextCursor;
          pages++;
        } while (cursor);
        assert.equal(pages, 3);
        assert.deepEqual(seen, [6, 5, 4, 3, 2, 1, 0].map((i) => `Patient/p${i}/1`));
      });

      test('an exactly full last page has no next cursor', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'a', 1, 1), version('Patient', 'b', 1, 2)]);
        const first = await store.history(tenant, { count: 1 });
        assert.ok(first.nextCursor);
        const second = await store.history(tenant, { count: 1, cursor: first.nextCursor });
        assert.deepEqual(ids(second.versions), ['Patient/a/1']);
        assert.equal(second.nextCursor, undefined);
      });

      test('the cursor keeps paging stable while new versions arrive', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'a', 1, 1), version('Patient', 'b', 1, 2), version('Patient', 'c', 1, 3)]);
        const first = await store.history(tenant, { count: 2 });
        await writeAll(store, tenant, [version('Patient', 'd', 1, 4)]);
        const second = await store.history(tenant, { count: 2, cursor: first.nextCursor });
        assert.deepEqual(ids(second.versions), ['Patient/a/1']);
        assert.equal(second.total, 4);
      });

      test('a malformed cursor is an invalid-request error', async () => {
        for (const cursor of ['garbage', 's', 's-1', 's1x']) {
          await assert.rejects(store.history(newTenant(), { count: 5, cursor }), (error: unknown) => error instanceof FhirError && error.category === 'invalid');
        }
      });
    });

    describe('transactions', () => {
      test('tentatively: its writes are undone, what it returned or threw comes back, the transaction goes on', async () => {
        const tenant = newTenant();
        const seen = await store.transaction(async (tx) => {
          await tx.writeVersion(tenant, version('Patient', 'kept', 1, 1));
          const inside = await tx.tentatively(async () => {
            await tx.writeVersion(tenant, version('Patient', 'tried', 1, 2));
            await tx.writeVersion(tenant, version('Patient', 'kept', 2, 3));
            return (await tx.readCurrent(tenant, 'Patient', 'kept'))?.versionId;
          });
          await assert.rejects(
            tx.tentatively(async () => {
              await tx.writeVersion(tenant, version('Patient', 'failed', 1, 4));
              throw new Error('given up');
            }),
            /given up/,
          );
          return { inside, after: await tx.readCurrent(tenant, 'Patient', 'tried') };
        });
        assert.deepEqual(seen, { inside: '2', after: undefined });
        assert.equal((await store.readCurrent(tenant, 'Patient', 'kept'))?.versionId, '1');
        assert.equal(await store.readCurrent(tenant, 'Patient', 'failed'), undefined);
        assert.equal((await store.history(tenant, { count: 10 })).total, 1);
      });

      test('return the value of the unit of work', async () => {
        assert.equal(await store.transaction(async () => 42), 42);
      });

      test('reads inside a transaction see its own writes', async () => {
        const tenant = newTenant();
        await store.transaction(async (tx) => {
          await tx.writeVersion(tenant, version('Patient', 'p', 1, 1));
          assert.equal((await tx.readCurrent(tenant, 'Patient', 'p'))?.versionId, '1');
          assert.equal((await tx.readCurrentForUpdate(tenant, 'Patient', 'p'))?.versionId, '1');
          assert.equal((await tx.readVersion(tenant, 'Patient', 'p', '1'))?.versionId, '1');
          assert.equal((await tx.history(tenant, { count: 10 })).total, 1);
        });
      });

      test('a throw inside rolls every write back and reaches the caller unchanged', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'existing', 1, 1)]);
        const failure = new Error('boom');
        let attempts = 0;
        await assert.rejects(
          store.transaction(async (tx) => {
            attempts++;
            await tx.writeVersion(tenant, version('Patient', 'existing', 2, 2));
            await tx.writeVersion(tenant, version('Patient', 'new', 1, 3));
            await tx.writeVersion(tenant, version('Observation', 'o', 1, 4));
            throw failure;
          }),
          (error) => error === failure,
        );
        assert.equal(attempts, 1, 'an ordinary error is not retried');
        assert.equal((await store.readCurrent(tenant, 'Patient', 'existing'))?.versionId, '1');
        assert.equal(await store.readVersion(tenant, 'Patient', 'existing', '2'), undefined);
        assert.equal(await store.readCurrent(tenant, 'Patient', 'new'), undefined);
        assert.equal(await store.readCurrent(tenant, 'Observation', 'o'), undefined);
        assert.equal((await store.history(tenant, { count: 10 })).total, 1);
      });

      test('a FhirError inside rolls back too', async () => {
        const tenant = newTenant();
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.writeVersion(tenant, version('Patient', 'p', 1, 1));
            throw new FhirError('precondition-failed', 'no');
          }),
          (error: unknown) => error instanceof FhirError && error.category === 'precondition-failed',
        );
        assert.equal(await store.readCurrent(tenant, 'Patient', 'p'), undefined);
      });

      test('writing a version that exists throws ConcurrentWriteError, a conflict, and the transaction stays usable', { skip: options.firstVersionLostAtEnd && 'a posted first version fails its whole unit as it ends: the next test' }, async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1)]);
        await store.transaction(async (tx) => {
          await assert.rejects(tx.writeVersion(tenant, version('Patient', 'p', 1, 2)), (error: unknown) => {
            assert.ok(error instanceof ConcurrentWriteError);
            assert.ok(error instanceof FhirError);
            assert.equal(error.category, 'conflict');
            return true;
          });
          // The failed write neither changed anything nor broke the transaction.
          await tx.writeVersion(tenant, version('Patient', 'q', 1, 3));
        });
        const p = await store.readCurrent(tenant, 'Patient', 'p');
        assert.equal(p?.lastUpdated, at(1), 'the first version 1 is kept');
        assert.equal((await store.readCurrent(tenant, 'Patient', 'q'))?.versionId, '1');
      });

      test('a unit of work that keeps losing the race is retried, then fails with the conflict', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1)]);
        let attempts = 0;
        await assert.rejects(
          store.transaction(async (tx) => {
            attempts++;
            await tx.writeVersion(tenant, version('Patient', 'other', attempts, attempts));
            await tx.writeVersion(tenant, version('Patient', 'p', 1, 2));
          }),
          (error) => error instanceof ConcurrentWriteError && error.category === 'conflict' && /Version 1 of Patient\/p/.test(error.message),
        );
        assert.ok(attempts > 1, `retried (${attempts} attempts)`);
        assert.equal(await store.readCurrent(tenant, 'Patient', 'other'), undefined, 'no attempt committed anything');
        assert.equal((await store.readCurrent(tenant, 'Patient', 'p'))?.lastUpdated, at(1), 'the first version 1 is kept');
      });

      test('a unit of work that lost once succeeds on the retry with fresh reads', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1)]);
        let attempts = 0;
        const written = await store.transaction(async (tx) => {
          attempts++;
          // The first attempt works from a stale version number, as if another writer came first.
          const next = attempts === 1 ? 1 : Number((await tx.readCurrentForUpdate(tenant, 'Patient', 'p'))!.versionId) + 1;
          await tx.writeVersion(tenant, version('Patient', 'p', next, 1 + next));
          return next;
        });
        assert.equal(attempts, 2);
        assert.equal(written, 2);
        assert.equal((await store.history(tenant, { resourceType: 'Patient', id: 'p', count: 10 })).total, 2);
      });

      test('a lost race is retried even when the unit of work wrapped the error', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1)]);
        let attempts = 0;
        await store.transaction(async (tx) => {
          attempts++;
          const next = attempts === 1 ? 1 : 2;
          try {
            await tx.writeVersion(tenant, version('Patient', 'p', next, 1 + next));
          } catch (error) {
            // As a Bundle does: the entry's error is re-raised with the entry's position.
            throw new FhirError('conflict', `Bundle entry 0: ${(error as Error).message}`);
          }
        });
        assert.equal(attempts, 2);
        assert.equal((await store.readCurrent(tenant, 'Patient', 'p'))?.versionId, '2');
      });

      test('concurrent updates of one resource all commit, each with its own consecutive version', async () => {
        const tenant = newTenant();
        const racers = 16;
        const versions = await Promise.all(Array.from({ length: racers }, (_, i) => store.transaction((tx) => appendNext(tx, tenant, 'Patient', 'hot', `writer ${i}`))));
        assert.deepEqual(
          versions.map(Number).sort((a, b) => a - b),
          Array.from({ length: racers }, (_, i) => i + 1),
        );
        const history = await store.history(tenant, { resourceType: 'Patient', id: 'hot', count: 100 });
        assert.equal(history.total, racers);
        assert.deepEqual(
          history.versions.map((v) => v.versionId),
          Array.from({ length: racers }, (_, i) => String(racers - i)),
        );
        // Each acknowledged write is the one stored under its version.
        const notes = new Set(history.versions.map((v) => JSON.parse(v.json!).note));
        assert.equal(notes.size, racers);
        assert.equal((await store.readCurrent(tenant, 'Patient', 'hot'))?.versionId, String(racers));
      });

      test('of concurrent conditional updates of the same version exactly one wins', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'p', 1, 1)]);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) =>
            store.transaction(async (tx) => {
              const current = await tx.readCurrentForUpdate(tenant, 'Patient', 'p');
              if (current?.versionId !== '1') throw new FhirError('precondition-failed', `expected version 1, found ${current?.versionId}`);
              return appendNext(tx, tenant, 'Patient', 'p', `winner ${i}`);
            }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        assert.equal(won.length, 1);
        for (const o of lost) assert.equal((o.reason as FhirError).category, 'precondition-failed', String(o.reason));
        assert.equal((await store.readCurrent(tenant, 'Patient', 'p'))?.versionId, '2');
      });

      test('concurrent transactions over the same resources all commit, atomically and in one order', async () => {
        const tenant = newTenant();
        const ids = ['a', 'b', 'c'];
        const runs = 10;
        await Promise.all(
          Array.from({ length: runs }, (_, i) =>
            store.transaction(async (tx) => {
              for (const id of ids) await appendNext(tx, tenant, 'Patient', id, `run ${i}`);
            }),
          ),
        );
        for (const id of ids) {
          const history = await store.history(tenant, { resourceType: 'Patient', id, count: 100 });
          assert.deepEqual(
            history.versions.map((v) => v.versionId),
            Array.from({ length: runs }, (_, i) => String(runs - i)),
          );
        }
        // Isolated: the run that wrote version v of one resource wrote version v of every one.
        const noteOf = async (id: string, v: number) => JSON.parse((await store.readVersion(tenant, 'Patient', id, String(v)))!.json!).note;
        for (let v = 1; v <= runs; v++) {
          const notes = await Promise.all(ids.map((id) => noteOf(id, v)));
          assert.equal(new Set(notes).size, 1, `version ${v} was written by one run: ${notes.join(', ')}`);
        }
      });

      test('two transactions locking the same resources in opposite orders both commit', async () => {
        const tenant = newTenant();
        await writeAll(store, tenant, [version('Patient', 'a', 1, 1), version('Patient', 'b', 1, 2)]);
        // Where writers run in parallel, each takes its first lock, then waits for the other's:
        // a deadlock, which the database breaks by aborting one; the store runs that one again.
        let bothLocked!: () => void;
        const barrier = new Promise<void>((resolve) => {
          let count = 0;
          bothLocked = () => ++count === 2 && resolve();
        });
        const run = (order: string[], note: string) =>
          store.transaction(async (tx) => {
            await appendNext(tx, tenant, 'Patient', order[0], note);
            bothLocked();
            // Serialised backends (one writer at a time) never get here twice at once.
            await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 50))]);
            await appendNext(tx, tenant, 'Patient', order[1], note);
          });
        await Promise.all([run(['a', 'b'], 'forward'), run(['b', 'a'], 'backward')]);
        for (const id of ['a', 'b']) {
          const history = await store.history(tenant, { resourceType: 'Patient', id, count: 10 });
          assert.deepEqual(history.versions.map((v) => v.versionId), ['3', '2', '1']);
        }
      });

      test('concurrent creations of the same new resource take versions 1..n', async () => {
        const tenant = newTenant();
        const versions = await Promise.all(Array.from({ length: 8 }, (_, i) => store.transaction((tx) => appendNext(tx, tenant, 'Patient', 'fresh', `creator ${i}`))));
        assert.deepEqual(versions.map(Number).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
      });
    });
  });
}
