/** Driving the ceiling server (bench/ceiling-server.ts), which runs in its own process. */
import { once } from 'node:events';
import { ROOT } from './kiln.js';
import { spawnProcess, type Spawned } from './processes.js';

export interface CannedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Ceiling {
  baseUrl: string;
  process: Spawned;
  /** Sets what the ceiling answers, per HTTP method. */
  answer(byMethod: Partial<Record<'GET' | 'POST' | 'PUT', CannedAnswer>>): Promise<void>;
}

export async function startCeiling(): Promise<Ceiling> {
  const child = spawnProcess(['--import', 'tsx', 'bench/ceiling-server.ts'], { cwd: ROOT });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ceiling server did not start: ${child.output()}`)), 30_000);
    let text = '';
    child.child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /\{"port":(\d+)\}/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void once(child.child, 'exit').then(() => reject(new Error(`the ceiling server exited: ${child.output()}`)));
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    process: child,
    async answer(byMethod) {
      const response = await fetch(`${baseUrl}/__ceiling`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(byMethod) });
      if (!response.ok) throw new Error(`ceiling configuration failed: HTTP ${response.status}`);
    },
  };
}
