// Command line of the operator benchmark (see main.ts for what a run does).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROLLERS } from '../../cluster/workload';
import { DEFAULT_OPERATOR_NAMESPACE, MEMCACHED_VERSION, memcachedGroup } from '../../constructs/memcached-api';

export const GROUP = memcachedGroup();
export const VERSION = MEMCACHED_VERSION;
export const OP_NS = DEFAULT_OPERATOR_NAMESPACE;
export const OP_SA = 'memcached-operator';
export const OP_USER = `system:serviceaccount:${OP_NS}:${OP_SA}`;
export const ADMIN_USER = 'kubernetes-admin';
export const NS = 'bench';

/**
 * The namespaces the objects go to: `bench` for one (the default), else `bench-000`,
 * `bench-001`, … with object i in namespace i mod count.
 */
export function benchNamespaces(count: number): string[] {
  if (count <= 1) return [NS];
  return Array.from({ length: count }, (_, i) => `${NS}-${String(i).padStart(3, '0')}`);
}

/** The Memcached collection of `namespace`. */
export const crPath = (namespace: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/memcacheds`;

/** What the benchmark watches: one namespace, or every namespace when the objects are spread. */
export function watchPaths(count: number): { memcacheds: string; deployments: string } {
  return count <= 1
    ? { memcacheds: crPath(NS), deployments: `/apis/apps/v1/namespaces/${NS}/deployments` }
    : { memcacheds: `/apis/${GROUP}/${VERSION}/memcacheds`, deployments: '/apis/apps/v1/deployments' };
}

export const USAGE = `usage: node scripts/run-ts.mjs bench/operator/main.ts [--n 100,1000] [--workers 4,16] [--runs 2]
       [--tier workload|api] [--idle 60] [--concurrency 50] [--nodes auto] [--timeout 900]
       [--min-size 1] [--max-size 3] [--resize-to SIZE] [--container-port PORT] [--single 20] [--sync-period 10h]
       [--namespaces 1] [--watch-namespace]
       [--no-leader-elect] [--control-plane-qps 300] [--node-options="--max-old-space-size=128"]
       [--no-limits] [--no-keep-going] [--cpu-prof DIR] [--keep-audit DIR] [--apiserver-profiling] [--out bench/results/operator.json]
       [--disable-controllers endpoints-controller,endpointslice-mirroring-controller]
(docs/benchmarks.md explains each knob and figure)`;

const list = (s: string) =>
  s
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isInteger(x) && x > 0);

export type Options = ReturnType<typeof parseOptions>;

/** Parses the command line; throws with the reason on bad input. `help` is set for --help. */
export function parseOptions(args: string[]) {
  const { values: argv } = parseArgs({
    args,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      n: { type: 'string', default: '100,1000' },
      workers: { type: 'string', default: '4,16' },
      runs: { type: 'string', default: '2' },
      tier: { type: 'string', default: 'workload' },
      idle: { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '50' },
      nodes: { type: 'string', default: 'auto' },
      timeout: { type: 'string', default: '900' },
      'min-size': { type: 'string', default: '1' },
      'max-size': { type: 'string', default: '3' },
      'resize-to': { type: 'string' },
      'container-port': { type: 'string' },
      'sync-period': { type: 'string' },
      'control-plane-qps': { type: 'string', default: '300' },
      'node-options': { type: 'string' },
      limits: { type: 'boolean', default: true },
      'watch-namespace': { type: 'boolean', default: false },
      namespaces: { type: 'string', default: '1' },
      'leader-elect': { type: 'boolean', default: true },
      out: { type: 'string', default: 'bench/results/operator.json' },
      'keep-going': { type: 'boolean', default: true },
      'cpu-prof': { type: 'string' },
      single: { type: 'string', default: '20' },
      'keep-audit': { type: 'string' },
      'apiserver-profiling': { type: 'boolean', default: false },
      'disable-controllers': { type: 'string', default: '' },
    },
    allowNegative: true,
    strict: true,
  });
  const opts = {
    help: argv.help!,
    ns: list(argv.n!),
    workers: list(argv.workers!),
    runs: Math.max(1, Number(argv.runs)),
    tier: argv.tier === 'api' ? ('api' as const) : ('workload' as const),
    idleS: Math.max(0, Number(argv.idle)),
    concurrency: Math.max(1, Number(argv.concurrency)),
    nodes: argv.nodes === 'auto' ? undefined : Number(argv.nodes),
    timeoutS: Math.max(10, Number(argv.timeout)),
    minSize: Number(argv['min-size']),
    maxSize: Number(argv['max-size']),
    /** the resize phase sets every size to this (default: each size steps round-robin through min..max) */
    resizeTo: argv['resize-to'] === undefined ? undefined : Number(argv['resize-to']),
    /** spec.containerPort sent with every Memcached (default: none, the CRD's default applies) */
    containerPort: argv['container-port'] === undefined ? undefined : Number(argv['container-port']),
    syncPeriod: argv['sync-period'],
    /**
     * client QPS of kube-controller-manager and kube-scheduler (burst = 2 × QPS; default 300); 0 keeps their
     * defaults (20 and 50). At N = 1000 the stock controller-manager needs minutes to create the
     * pods, whatever the operator does.
     */
    controlPlaneQps: Math.max(0, Number(argv['control-plane-qps'])),
    /** NODE_OPTIONS for the operator process; pass as --node-options="--max-old-space-size=128" */
    nodeOptions: argv['node-options'],
    /** run the operator under the Deployment's resources.limits (cgroup), as in a pod */
    limits: argv.limits!,
    watchNamespace: argv['watch-namespace']!,
    /** spread the objects over this many namespaces (object i in namespace i mod count) */
    namespaces: Number(argv.namespaces),
    leaderElect: argv['leader-elect']!,
    keepGoing: argv['keep-going']!,
    out: resolve(argv.out!),
    /** CRs created one at a time after the update phase (reaction latency without a queue) */
    single: Math.max(0, Number(argv.single)),
    /** write a V8 CPU profile of the operator into this directory (node --cpu-prof) */
    cpuProf: argv['cpu-prof'] ? resolve(argv['cpu-prof']) : undefined,
    /** copy each run's audit log into this directory */
    keepAudit: argv['keep-audit'] ? resolve(argv['keep-audit']) : undefined,
    /** serve kube-apiserver's /debug/pprof (scripts/apiserver-profile.sh collects CPU profiles) */
    apiserverProfiling: argv['apiserver-profiling']!,
    /**
     * kube-controller-manager controllers left out of the control plane, e.g. the deprecated
     * Endpoints controller and the EndpointSlice mirroring controller, which KEP-4974 makes a
     * supported configuration (only EndpointSlices then follow the Services' pods)
     */
    disableControllers: argv['disable-controllers']!.split(',').filter(Boolean),
  };
  if (argv.tier !== 'api' && argv.tier !== 'workload') throw new Error('--tier must be api or workload');
  if (!opts.ns.length || !opts.workers.length) throw new Error('--n and --workers need positive integers');
  if (!(opts.minSize >= 0 && opts.maxSize >= opts.minSize && opts.maxSize <= 5))
    throw new Error('sizes must satisfy 0 <= min <= max <= 5');
  if (opts.resizeTo !== undefined && !(Number.isInteger(opts.resizeTo) && opts.resizeTo >= 0 && opts.resizeTo <= 5))
    throw new Error('--resize-to must be an integer 0..5');
  if (!(Number.isInteger(opts.namespaces) && opts.namespaces >= 1 && opts.namespaces <= 1000))
    throw new Error('--namespaces must be an integer 1..1000');
  if (opts.namespaces > 1 && opts.watchNamespace)
    throw new Error('--watch-namespace watches one namespace; it cannot be combined with --namespaces > 1');
  const unknown = opts.disableControllers.filter((c) => !DEFAULT_CONTROLLERS.includes(c));
  if (unknown.length)
    throw new Error(
      `--disable-controllers: not among the controllers the control plane runs: ${unknown.join(', ')} (it runs ${DEFAULT_CONTROLLERS.join(', ')})`,
    );
  if (
    opts.containerPort !== undefined &&
    !(Number.isInteger(opts.containerPort) && opts.containerPort >= 1 && opts.containerPort <= 65535)
  )
    throw new Error('--container-port must be a port number');
  return opts;
}

/** NODE_OPTIONS of the operator: --node-options plus the CPU profile flags. */
export function nodeOptions(
  opts: Options,
  n: number,
  workers: number,
  run: number,
): Record<string, string> | undefined {
  const parts = [opts.nodeOptions ?? ''];
  if (opts.cpuProf)
    parts.push(
      `--cpu-prof --cpu-prof-dir=${opts.cpuProf} --cpu-prof-name=operator-n${n}-w${workers}-r${run}.cpuprofile`,
    );
  const value = parts.join(' ').trim();
  return value ? { NODE_OPTIONS: value } : undefined;
}

export const log = (m: string) =>
  process.stderr.write(`[bench:operator ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
