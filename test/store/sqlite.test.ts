import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { storeContract } from './contract.js';

// A file database, as in production: writes and reads use separate connections, and the writer's
// is on a thread of its own, which posts a new resource's rows.
storeContract(
  'sqlite',
  async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-store-'));
  const store = await openSqliteStore(dir);
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  },
  { firstVersionLostAtEnd: true },
);

// In memory (the interaction tests' store): one connection in this thread, which awaits every write.
storeContract('sqlite in memory', async () => {
  const store = await openSqliteStore(':memory:');
  return { store, cleanup: () => store.close() };
});
