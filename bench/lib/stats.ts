// Small statistics and /proc helpers for the benchmarks.
import { readFileSync } from 'node:fs';

/** Nearest-rank percentile (p in 0..100) of unsorted values; undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function median(values: readonly (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function latencyStats(values: readonly number[]): {
  count: number;
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
} {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: percentile(values, 100),
  };
}

/** Least-squares slope of y over x (per unit of x). */
export function slope(xs: readonly number[], ys: readonly number[]): number | undefined {
  const n = xs.length;
  if (n < 2) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

const CLK_TCK = 100; // Linux USER_HZ on every architecture Node supports

export interface ProcSample {
  /** utime + stime in seconds */
  cpuSeconds: number;
  rssMiB: number;
  /** peak RSS so far (VmHWM) */
  hwmMiB: number;
}

/** CPU seconds (utime+stime from /proc/<pid>/stat) and RSS/VmHWM (from /proc/<pid>/status). */
export function procSample(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the ")" of the command name: state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuSeconds: (utime + stime) / CLK_TCK, rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Parses Prometheus text into "name{labels}" → value (labels as written by the exporter). */
export function parsePrometheus(text: string, names: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const name = line.slice(0, line.search(/[{ ]/));
    if (!names.includes(name)) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** The labels of a series key written by parsePrometheus. */
export function labelsOf(series: string): Record<string, string> {
  const m = /\{(.*)\}/.exec(series);
  const out: Record<string, string> = {};
  if (!m) return out;
  for (const [, k, v] of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[k] = v;
  return out;
}

export const round = (x: number | undefined, digits = 1): number | undefined =>
  x === undefined || !Number.isFinite(x) ? undefined : Number(x.toFixed(digits));
