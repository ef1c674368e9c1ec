/** The bench's report: machine description, the results table and the JSON document. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import type { BenchOptions, ScenarioResult } from './scenario.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  kernel: string;
}

export interface BenchReport {
  date: string;
  machine: Machine;
  /** What was measured: 'kiln (dist, sqlite)' or the --target URL. */
  server: string;
  /** The Kiln source measured: git commit, '+modified' when the working tree differs from it. */
  revision: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews figures. */
  loadAverage: { start: number; end: number };
  options: Omit<BenchOptions, 'token'>;
  results: ScenarioResult[];
}

/** Read-only git queries; 'unknown' outside a git checkout. */
export function revision(root: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'src') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? '+modified' : ''}`;
  } catch {
    return 'unknown';
  }
}

export function loadAverage(): number {
  return Math.round(loadavg()[0] * 100) / 100;
}

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return { cpu, cores: availableParallelism(), memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, kernel: release() };
}

const number = (value: number | undefined, digits = 0) => (value === undefined || Number.isNaN(value) ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

/** A plain-text table, one row per scenario. */
export function table(report: BenchReport): string {
  const { machine: m } = report;
  const lines = [
    `Kiln bench · ${report.date} · ${report.server} @ ${report.revision} · ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB · node ${m.node} · load ${report.loadAverage.start} → ${report.loadAverage.end}`,
  ];
  const header = ['scenario', 'throughput', 'p50 ms', 'p95 ms', 'p99 ms', 'failed', 'peak RSS', 'peak anon', 'CPU µs/unit', 'ceiling', 'of ceiling'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const r of report.results) {
    if (r.status === 'ok' && r.target) {
      const t = r.target;
      rows.push([
        r.scenario,
        `${number(t.throughput)} ${r.unit ?? ''}`,
        number(t.latencyMs.p50, 1),
        number(t.latencyMs.p95, 1),
        number(t.latencyMs.p99, 1),
        number(t.failed),
        r.peakRssMB === undefined ? '–' : `${number(r.peakRssMB)} MB`,
        r.peakAnonMB === undefined ? '–' : `${number(r.peakAnonMB)} MB`,
        number(r.cpuUsPerUnit),
        r.ceiling ? number(r.ceiling.throughput) : '–',
        r.fractionOfCeiling === undefined ? '–' : `${number(r.fractionOfCeiling * 100)}%`,
      ]);
    } else if (r.status === 'ok' && r.details) {
      rows.push([r.scenario, Object.entries(r.details).map(([k, v]) => `${k} ${typeof v === 'number' ? number(v, Number.isInteger(v) ? 0 : 1) : v}`).join(', ')]);
    } else {
      rows.push([r.scenario, r.status]);
    }
    if (r.note) notes.push(`${r.scenario}: ${r.note}`);
    if (r.status === 'ok' && r.target && r.details) notes.push(`${r.scenario}: ${Object.entries(r.details).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((row) => row.length > 2).map((row) => (row[i] ?? '').length)));
  const format = (row: string[]) => (row.length <= 2 ? `${row[0].padEnd(widths[0])}  ${row[1] ?? ''}` : row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  lines.push(format(header), ...rows.map(format));
  if (notes.length) lines.push('', ...notes);
  return lines.join('\n');
}
