// The bench's reading of a server's memory from /proc (Linux).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { memoryOf, watchAnonMemory } from '../../bench/lib/processes.js';

const linux = process.platform === 'linux';

test('anonymous memory is read and its peak sampled', { skip: !linux && 'reads /proc (Linux only)' }, async () => {
  const now = memoryOf(process.pid)!;
  assert.ok(now.anonMB > 1 && now.anonMB <= now.rssMB && now.rssMB <= now.peakMB, JSON.stringify(now));
  const watch = watchAnonMemory(process.pid, 10);
  const held = Buffer.alloc(64 * 1024 * 1024, 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const peak = watch.stop()!;
  assert.ok(peak >= now.anonMB + 50, `peak ${peak} MB while holding 64 MB more than ${now.anonMB} MB`);
  assert.equal(held[0], 1);
});

test('a watch that is never stopped (a scenario that threw) does not keep the bench running', { skip: !linux && 'reads /proc (Linux only)' }, () => {
  const processes = fileURLToPath(new URL('../../bench/lib/processes.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const { watchAnonMemory } = await import(${JSON.stringify(processes)}); watchAnonMemory(process.pid); console.log('started');`], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(child.error, undefined, 'the process exited by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /started/);
});
