import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Copies the write-ahead log into the database file from a worker thread. SQLite checkpoints by
 * itself inside the COMMIT that grows the log past `wal_autocheckpoint` pages, on the writer's
 * (the server's one) thread: that commit took ~40 ms, the p99 of every write benchmark. PASSIVE
 * checkpoints on a connection of their own run beside the writer without blocking it, so the
 * writer's checkpoint finds little left to copy. Should the worker fail, the writer's own
 * checkpoints carry on as before.
 */

const INTERVAL_MS = 100;

const WORKER = `(async () => {
  const { workerData, parentPort } = await import('node:worker_threads');
  const { default: Database } = await import(workerData.sqlite);
  const db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.intervalMs);
  parentPort.once('message', () => {
    clearInterval(timer);
    db.close();
    parentPort.close();
  });
})();`;

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private exited = false;

  constructor(file: string, intervalMs = INTERVAL_MS) {
    const sqlite = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, sqlite, intervalMs } });
    this.worker.unref();
    this.worker.once('exit', () => (this.exited = true));
    // An error ends the worker: the writer's automatic checkpoints remain.
    this.worker.on('error', () => {});
  }

  /** Closes the worker's connection and ends it. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('stop');
    const timeout = setTimeout(() => void this.worker.terminate(), 2000);
    await exit;
    clearTimeout(timeout);
  }
}
