import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { storeContract } from './contract.js';

// A file database, as in production: writes and reads use separate connections.
storeContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-store-'));
  const store = await openSqliteStore(dir);
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
