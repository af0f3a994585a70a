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

/** Every flag the manager accepts, with the help text `--help` prints (one table, so they agree). */
const FLAGS: Record<
  string,
  { type: 'string' | 'boolean'; value?: string; help: string; default?: (o: ManagerOptions) => string }
> = {
  'leader-elect': {
    type: 'boolean',
    help: 'Run workers only while holding the leader election Lease (standbys keep warm caches). Also --leader-elect=true|false.',
    default: (o) => String(o.leaderElect),
  },
  'leader-election-id': {
    type: 'string',
    value: 'name',
    help: 'Name of the leader election Lease.',
    default: (o) => o.leaderElectionId,
  },
  'leader-election-namespace': {
    type: 'string',
    value: 'namespace',
    help: 'Namespace of the Lease.',
    default: () => '$POD_NAMESPACE',
  },
  'health-probe-bind-address': {
    type: 'string',
    value: 'addr',
    help: 'Address of /healthz and /readyz: host:port, :port, or 0 to disable.',
    default: (o) => o.healthProbeBindAddress,
  },
  'metrics-bind-address': {
    type: 'string',
    value: 'addr',
    help: 'Address of /metrics: host:port, :port, or 0 to disable.',
    default: (o) => o.metricsBindAddress,
  },
  'zap-log-level': {
    type: 'string',
    value: 'level',
    help: 'Log level: debug, info, error, or an integer N > 0 for verbosity N.',
    default: () => 'info',
  },
  'max-concurrent-reconciles': {
    type: 'string',
    value: 'n',
    help: 'Reconciles running at once (one object is never reconciled twice at once).',
    default: (o) => String(o.maxConcurrentReconciles),
  },
  'sync-period': {
    type: 'string',
    value: 'duration',
    help: 'Informer resync period, a Go duration (10h, 1h30m, 90s), 0 for never.',
    default: (o) => formatDuration(o.syncPeriodMs),
  },
  help: { type: 'boolean', help: 'Print this help and exit (also -h).' },
  version: { type: 'boolean', help: 'Print the version and exit.' },
};

/** The environment variables the operator reads, for `--help`. */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['WATCH_NAMESPACE', 'Namespaces to watch, comma-separated; unset or empty = all namespaces.'],
  ['POD_NAMESPACE', "The operator's own namespace (default of --leader-election-namespace)."],
  ['MEMCACHED_IMAGE', 'Image of the memcached pods.'],
  ['MEMCACHED_GROUP_DOMAIN', 'API group domain: Memcached objects are cache.<domain>/v1alpha1.'],
  ['KUBECONFIG', 'Kubeconfig file when not running in a pod (else ~/.kube/config).'],
];

/** What the command line asks for: run the manager, or print help or the version. */
export type Command = { action: 'run'; options: ManagerOptions } | { action: 'help' } | { action: 'version' };

/**
 * Like parseManagerFlags, but `--help`/`-h`/`-help` and `--version` (anywhere on the command
 * line) ask for help or the version instead of a run; they win over other, even invalid, flags.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaults: Partial<ManagerOptions> = {},
): Command {
  const flags = argv.map(normalizeArg);
  if (flags.some((a) => a === '--help' || a === '-h')) return { action: 'help' };
  if (flags.includes('--version')) return { action: 'version' };
  return { action: 'run', options: parseManagerFlags(argv, env, defaults) };
}

/**
 * The `--help` text: usage, every flag with its default, every environment variable.
 * `env` names (e.g. MEMCACHED_IMAGE) map to their defaults where the program has one.
 */
export function usage(
  name: string,
  defaults: Partial<ManagerOptions> = {},
  envDefaults: Readonly<Record<string, string>> = {},
): string {
  const base = { ...DEFAULT_OPTIONS, ...defaults };
  const lines = [`Usage: ${name} [flags]`, '', 'Flags:'];
  const rows = Object.entries(FLAGS).map(([flag, f]) => {
    const d = f.default?.(base);
    return [`  --${flag}${f.value ? ` <${f.value}>` : ''}`, `${f.help}${d ? ` (default ${d})` : ''}`];
  });
  const width = Math.max(...rows.map(([l]) => l.length), ...ENVIRONMENT.map(([e]) => e.length + 2)) + 2;
  for (const [left, right] of rows) lines.push(left.padEnd(width) + right);
  lines.push('', 'Flags may also be written -flag (Go style) and as --flag=value or --flag value.', '', 'Environment:');
  for (const [variable, help] of ENVIRONMENT) {
    const d = envDefaults[variable];
    lines.push(`  ${variable}`.padEnd(width) + help + (d ? ` (default ${d})` : ''));
  }
  return lines.join('\n') + '\n';
}

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
      options: Object.fromEntries(
        Object.entries(FLAGS)
          .filter(([flag]) => flag !== 'help' && flag !== 'version')
          .map(([flag, f]) => [flag, { type: f.type }]),
      ),
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
      throw new FlagError(
        '--leader-elect requires --leader-election-namespace or the POD_NAMESPACE environment variable',
      );
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
  return [
    ...new Set(
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds as a Go duration ("10h0m0s" is written "10h"). */
function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

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
