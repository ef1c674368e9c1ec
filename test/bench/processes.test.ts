// The bench's reading of a server's memory and CPU time from /proc (Linux).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { cpuSecondsOf, measuringServer, memoryOf, watchAnonMemory } from '../../bench/lib/processes.js';

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

test('a run\'s CPU seconds are those the process spent in it, every thread counted', { skip: !linux && 'reads /proc (Linux only)' }, async () => {
  // On "go", a child spins its main thread and a worker for 500 ms each, then prints the CPU time
  // it spent meanwhile by its own account (process.cpuUsage: every thread) and idles.
  const spin = `const end = Date.now() + 500; while (Date.now() < end);`;
  const source = `const { Worker } = await import('node:worker_threads');
    process.stdin.once('data', async () => {
      const start = process.cpuUsage();
      const worker = new Worker(${JSON.stringify(spin)}, { eval: true });
      ${spin}
      await new Promise((resolve) => worker.once('exit', resolve));
      const used = process.cpuUsage(start);
      console.log((used.user + used.system) / 1e6);
      setTimeout(() => {}, 5000);
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // its start-up, outside the measured run
    let ownAccount = NaN;
    const { cpuS } = await measuringServer(child.pid, async () => {
      child.stdin.write('go\n');
      ownAccount = Number(await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
    });
    assert.ok(ownAccount > 0.2, `the child spent ${ownAccount} CPU s in two threads`);
    assert.ok(cpuS !== undefined && Math.abs(cpuS - ownAccount) < 0.15, `/proc says ${cpuS} CPU s, the child ${ownAccount}`);
    const idleBefore = cpuSecondsOf(child.pid!)!;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(cpuSecondsOf(child.pid!)! - idleBefore < 0.1, 'an idle process gains next to no CPU time');
  } finally {
    child.kill();
  }
  assert.equal(cpuSecondsOf(2 ** 22 + 12345), undefined, 'no such process');
});
