// controller-runtime style manager flags and environment, parsed by a pure function.
import { parseArgs } from 'node:util';
import { parseBindAddress } from './manager/http';
import { parseLogLevel } from './log';

export interface ManagerOptions {
  leaderElect: boolean;
  leaderElectionId: string;
  /** Namespace of the leader election Lease (flag, else POD_NAMESPACE). */
  leaderElectionNamespace: string | undefined;
  /** "host:port", ":port" or "0" (disabled). */
  healthProbeBindAddress: string;
  metricsBindAddress: string;
  /** zap level threshold (see log.ts parseLogLevel). */
  logLevel: number;
  maxConcurrentReconciles: number;
  /** Informer resync period in milliseconds (0 = never). */
  syncPeriodMs: number;
  /** Namespaces to watch; empty = all namespaces (WATCH_NAMESPACE unset or empty). */
  watchNamespaces: string[];
  /** The operator's own namespace (POD_NAMESPACE), if known. */
  podNamespace: string | undefined;
}

/** Thrown for unknown flags and invalid values; the message is meant for the user. */
export class FlagError extends Error {
  override name = 'FlagError';
}

export const DEFAULT_OPTIONS: ManagerOptions = {
  leaderElect: false,
  leaderElectionId: '',
  leaderElectionNamespace: undefined,
  healthProbeBindAddress: ':8081',
  metricsBindAddress: ':8080',
  logLevel: 0,
  maxConcurrentReconciles: 1,
  syncPeriodMs: 10 * 60 * 60 * 1000,
  watchNamespaces: [],
  podNamespace: undefined,
};

const BOOLEAN_FLAGS = ['leader-elect'] as const;

/**
 * Parses manager flags (`--flag=value`, `--flag value`, Go's single-dash `-flag`, and
 * `--leader-elect=true|false`) and the WATCH_NAMESPACE / POD_NAMESPACE environment.
 * `defaults` lets the program set e.g. its leader election ID.
 */
export function parseManagerFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaults: Partial<ManagerOptions> = {},
): ManagerOptions {
  const base = { ...DEFAULT_OPTIONS, ...defaults };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv.map(normalizeArg),
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        'leader-elect': { type: 'boolean' },
        'leader-election-id': { type: 'string' },
        'leader-election-namespace': { type: 'string' },
        'health-probe-bind-address': { type: 'string' },
        'metrics-bind-address': { type: 'string' },
        'zap-log-level': { type: 'string' },
        'max-concurrent-reconciles': { type: 'string' },
        'sync-period': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  const flag = <T>(name: string, parse: (raw: string) => T, fallback: T): T => {
    const raw = values[name];
    return typeof raw === 'string' ? flagValue(name, raw, parse) : fallback;
  };

  const podNamespace = env.POD_NAMESPACE?.trim() || undefined;
  const options: ManagerOptions = {
    leaderElect: (values['leader-elect'] as boolean | undefined) ?? base.leaderElect,
    leaderElectionId: flag('leader-election-id', String, base.leaderElectionId),
    leaderElectionNamespace: flag('leader-election-namespace', String, base.leaderElectionNamespace ?? podNamespace),
    healthProbeBindAddress: flag('health-probe-bind-address', validBindAddress, base.healthProbeBindAddress),
    metricsBindAddress: flag('metrics-bind-address', validBindAddress, base.metricsBindAddress),
    logLevel: flag('zap-log-level', parseLogLevel, base.logLevel),
    maxConcurrentReconciles: flag('max-concurrent-reconciles', parsePositiveInt, base.maxConcurrentReconciles),
    syncPeriodMs: flag('sync-period', parseDuration, base.syncPeriodMs),
    watchNamespaces: env.WATCH_NAMESPACE === undefined ? base.watchNamespaces : splitNamespaces(env.WATCH_NAMESPACE),
    podNamespace,
  };
  if (options.leaderElect) {
    if (!options.leaderElectionId) throw new FlagError('--leader-elect requires --leader-election-id');
    if (!options.leaderElectionNamespace) {
      throw new FlagError('--leader-elect requires --leader-election-namespace or the POD_NAMESPACE environment variable');
    }
  }
  return options;
}

/** `-flag` → `--flag` (Go accepts both); `--bool=true|false` → `--bool` / `--no-bool`. */
function normalizeArg(arg: string): string {
  const a = /^-[a-z][a-z-]+(=|$)/.test(arg) ? '-' + arg : arg;
  for (const name of BOOLEAN_FLAGS) {
    if (a === `--${name}=true`) return `--${name}`;
    if (a === `--${name}=false`) return `--no-${name}`;
  }
  return a;
}

function flagValue<T>(flag: string, raw: string, parse: (v: string) => T): T {
  try {
    return parse(raw);
  } catch (err) {
    throw new FlagError(`invalid value "${raw}" for --${flag}: ${(err as Error).message}`);
  }
}

function validBindAddress(v: string): string {
  parseBindAddress(v);
  return v;
}

function parsePositiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error('expected an integer ≥ 1');
  return Number(v);
}

function splitNamespaces(v: string): string[] {
  return [...new Set(v.split(',').map((s) => s.trim()).filter(Boolean))];
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("10h", "1h30m", "90s", "250ms", "0") into milliseconds. */
export function parseDuration(v: string): number {
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (!m) throw new Error('expected a duration like 10h, 1h30m, 90s or 250ms');
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos === 0) throw new Error('expected a duration like 10h, 1h30m, 90s or 250ms');
  return total;
}
