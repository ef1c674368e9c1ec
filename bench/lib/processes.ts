/** Child processes of the bench (Kiln under test, the ceiling server) and their memory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** The last few KB of stdout+stderr, for error messages. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnProcess(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Spawned {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * VmRSS (current), VmHWM (peak since start or the last reset) and RssAnon (current anonymous
 * memory: heaps, stacks, malloc) of a process, in MB. RSS also counts the pages of files mapped
 * into the process (SQLite maps its database), which the kernel drops whenever it needs them.
 */
export function memoryOf(pid: number): { rssMB: number; peakMB: number; anonMB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) / 1024;
    return { rssMB: field('VmRSS'), peakMB: field('VmHWM'), anonMB: field('RssAnon') };
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's anonymous memory every `intervalMs` until `stop()`, which returns the
 * highest value seen (MB; undefined when it could not be read): the kernel keeps no peak of it.
 */
export function watchAnonMemory(pid: number, intervalMs = 100): { stop(): number | undefined } {
  let peak: number | undefined;
  const sample = () => {
    const anon = memoryOf(pid)?.anonMB;
    if (anon !== undefined && !Number.isNaN(anon)) peak = Math.max(peak ?? 0, anon);
  };
  sample();
  // Never what keeps the bench alive: a scenario that throws before stop() leaves no process hanging.
  const timer = setInterval(sample, intervalMs).unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** Linux's clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's CPU times: 100 on every Linux Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds a process has used so far, all its threads, user and system (undefined when /proc cannot tell). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime, fields 14 and 15
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** What a measured run cost the server: memory (see measuringServer) and CPU seconds. */
export interface ServerCost {
  peakRssMB?: number;
  peakAnonMB?: number;
  /** CPU seconds of the server process (all threads) over the run. */
  cpuS?: number;
}

/**
 * Runs `work` (a measured run against the server `pid`) and reads what it cost the server: peak
 * RSS (VmHWM since a reset before the run; the RSS at its end where the mark cannot be reset),
 * peak anonymous memory (sampled) and CPU seconds (time spent waiting is not in them, but they
 * still follow the VM's speed: docs/performance.md, "Memory and CPU"). No figures without a pid.
 */
export async function measuringServer<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ value: T } & ServerCost> {
  if (pid === undefined) return { value: await work() };
  const peakResettable = resetPeakMemory(pid);
  const anon = watchAnonMemory(pid);
  const cpuBefore = cpuSecondsOf(pid);
  let peakAnonMB: number | undefined;
  let value: T;
  try {
    value = await work();
  } finally {
    peakAnonMB = anon.stop();
  }
  const cpuAfter = cpuSecondsOf(pid);
  const cpuS = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return { value, peakAnonMB, peakRssMB: memoryOf(pid)?.[peakResettable ? 'peakMB' : 'rssMB'], cpuS };
}

/** Resets the peak-RSS mark (Linux ≥ 4.0), so each scenario reports its own peak; false when not allowed. */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `url` as fast as is polite until it answers 2xx; returns the milliseconds since `since`
 * (a performance.now() timestamp). Throws after `timeoutMs` or when `alive()` turns false.
 */
export async function waitForOk(url: string, since: number, options: { timeoutMs?: number; headers?: Record<string, string>; alive?: () => boolean } = {}): Promise<number> {
  const deadline = since + (options.timeoutMs ?? 30_000);
  let last = 'no answer';
  for (;;) {
    try {
      const response = await fetch(url, { headers: options.headers });
      await response.arrayBuffer();
      if (response.ok) return performance.now() - since;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).cause ? String((error as { cause: Error }).cause.message) : (error as Error).message;
    }
    if (options.alive && !options.alive()) throw new Error(`the process exited before ${url} answered (${last})`);
    if (performance.now() > deadline) throw new Error(`${url} did not answer 2xx within ${options.timeoutMs ?? 30_000} ms (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
