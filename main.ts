// The cdk8s app (`cdk8s.yaml` runs it through scripts/run-ts.mjs; so does `npm run synth`):
// read and validate the configuration, build every chart, and only then replace the YAML in
// the output directory. `npm run synth` writes stack.yaml into dist/ and every environment's
// envs/<env>/stack.yaml into envs/<env>/dist/ (see synthTargets); STACK_CONFIG or
// CDK8S_OUTDIR (`cdk8s synth` sets it) pick one file and one folder instead. Each chart
// becomes one file, <outdir>/<chart>.k8s.yaml. A configuration error prints the fields at
// fault and exits 1; any failure leaves every previous output untouched.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { DEFAULT_CONFIG_FILE, loadStackConfig, StackConfig } from './constructs/config';
import { memcachedApiVersion } from './constructs/memcached-api';
import { renderMemcachedOperand } from './constructs/memcached-operand';
import { MemcachedOperatorChart } from './constructs/memcached-operator';
import { MemcachedSampleChart } from './constructs/memcached-sample';
import { RedisDeploymentChart } from './constructs/redis-deployment';
import { RedisHaChart } from './constructs/redis-ha';
import { RedisPodChart } from './constructs/redis-pod';
import { RedisStatefulSetChart } from './constructs/redis-statefulset';
import { stackConflicts, StackObjects } from './constructs/stack-checks';
import { ConfigError } from './constructs/validation';

/**
 * The charts in the order people meet them in the tutorial. Fails with a ConfigError when two
 * stacks would clash in a cluster (see constructs/stack-checks.ts).
 */
export function buildApp(config: StackConfig, outdir: string): App {
  const app = new App({ outdir, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
  const { redis, memcached, clusterDomain } = config;
  const common = { image: redis.image, resources: redis.resources };
  // Each chart with the fields that choose its object names and its namespace.
  const charts: [Chart, string | undefined, string][] = [
    [
      new RedisPodChart(app, 'redis-pod', { namespace: redis.namespace, config: redis.pod, redis: common }),
      'redis.pod.name',
      'redis.namespace',
    ],
    [
      new RedisDeploymentChart(app, 'redis-deployment', {
        namespace: redis.namespace,
        config: redis.deployment,
        redis: common,
      }),
      'redis.deployment.name',
      'redis.namespace',
    ],
    [
      new RedisStatefulSetChart(app, 'redis-statefulset', {
        namespace: redis.namespace,
        config: redis.statefulset,
        redis: common,
        clusterDomain,
      }),
      'redis.statefulset.name',
      'redis.namespace',
    ],
    [
      new RedisHaChart(app, 'redis-ha', { namespace: redis.namespace, config: redis.ha, redis: common, clusterDomain }),
      'redis.ha.name',
      'redis.namespace',
    ],
    [
      new MemcachedOperatorChart(app, 'memcached-operator', { config: memcached.operator }),
      undefined,
      'memcached.operator.namespace',
    ],
    [
      new MemcachedSampleChart(app, 'memcached-sample', {
        config: memcached.sample,
        groupDomain: memcached.operator.groupDomain,
      }),
      'memcached.sample.name',
      'memcached.sample.namespace',
    ],
  ];
  const stacks: StackObjects[] = charts.map(([chart, nameField, namespaceField]) => ({
    label: `${chart.node.id}.k8s.yaml`,
    nameField,
    namespaceField,
    objects: chart.toJson(),
  }));
  // The operator creates a Deployment and a Service for the sample: they must not clash either.
  const { sample } = memcached;
  const operand = renderMemcachedOperand({
    owner: {
      apiVersion: memcachedApiVersion(memcached.operator.groupDomain),
      name: sample.name,
      namespace: sample.namespace,
      uid: '',
    },
    spec: { size: sample.size, containerPort: sample.containerPort },
    image: memcached.operator.memcachedImage,
  });
  stacks.push({
    label: 'the operator (for the sample)',
    nameField: 'memcached.sample.name',
    namespaceField: 'memcached.sample.namespace',
    objects: [operand.deployment, operand.service],
  });
  const problems = stackConflicts(stacks);
  if (problems.length > 0) throw new ConfigError(problems);
  return app;
}

/**
 * Synthesizes every chart into a staging directory beside `outdir` and returns it; `swapIn`
 * then replaces the `*.k8s.yaml` files of `outdir` with it. Configuration and construct errors
 * throw here, before anything in `outdir` changes.
 */
function stage(config: StackConfig, outdir: string): string {
  mkdirSync(dirname(outdir), { recursive: true });
  const staging = mkdtempSync(join(dirname(outdir), '.synth-'));
  try {
    buildApp(config, staging).synth();
    return staging;
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

function swapIn(staging: string, outdir: string): void {
  try {
    mkdirSync(outdir, { recursive: true });
    for (const f of readdirSync(outdir)) if (f.endsWith('.k8s.yaml')) rmSync(join(outdir, f));
    for (const f of readdirSync(staging)) renameSync(join(staging, f), join(outdir, f));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Synthesizes one configuration into `outdir`; nothing in `outdir` changes unless it all built. */
export function synthesize(config: StackConfig, outdir: string): void {
  swapIn(stage(config, outdir), outdir);
}

/** One configuration file and the folder its YAML goes to. */
export interface SynthTarget {
  /** Relative to the repository root, e.g. `stack.yaml` or `envs/prod/stack.yaml`. */
  readonly config: string;
  /** A missing file means "all defaults" (only the default stack.yaml). */
  readonly optional: boolean;
  readonly outdir: string;
}

export const ENVS_DIR = 'envs';

/**
 * What `npm run synth` writes, and so what every check of the committed output compares:
 * `stack.yaml` (optional) into `dist/`, and each environment's `envs/<env>/stack.yaml` into
 * `envs/<env>/dist/`. STACK_CONFIG or CDK8S_OUTDIR (`cdk8s synth` sets it) select one
 * configuration and one folder instead.
 */
export function synthTargets(env: NodeJS.ProcessEnv = process.env, root = process.cwd()): SynthTarget[] {
  if (env.STACK_CONFIG || env.CDK8S_OUTDIR) {
    return [
      {
        config: env.STACK_CONFIG ?? DEFAULT_CONFIG_FILE,
        optional: !env.STACK_CONFIG,
        outdir: env.CDK8S_OUTDIR ?? 'dist',
      },
    ];
  }
  const envs = existsSync(join(root, ENVS_DIR))
    ? readdirSync(join(root, ENVS_DIR), { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(root, ENVS_DIR, e.name, DEFAULT_CONFIG_FILE)))
        .map((e) => e.name)
        .sort()
    : [];
  return [
    { config: DEFAULT_CONFIG_FILE, optional: true, outdir: 'dist' },
    ...envs.map((e) => ({
      config: `${ENVS_DIR}/${e}/${DEFAULT_CONFIG_FILE}`,
      optional: false,
      outdir: `${ENVS_DIR}/${e}/dist`,
    })),
  ];
}

/** The validated configuration of one target. */
export function targetConfig(target: SynthTarget, root = process.cwd()): StackConfig {
  return loadStackConfig(resolve(root, target.config), target.optional);
}

/**
 * The check CI and the unit tests run: every target synthesized afresh (in a temporary folder)
 * and compared with the `*.k8s.yaml` files in its folder. Returns the files that differ, are
 * missing or are left over, as `<outdir>/<file>`; empty when everything is up to date.
 */
export function outdatedFiles(root = process.cwd(), env: NodeJS.ProcessEnv = process.env): string[] {
  const outdated: string[] = [];
  for (const t of synthTargets(env, root)) {
    const fresh = mkdtempSync(join(tmpdir(), 'synth-check-'));
    try {
      buildApp(targetConfig(t, root), fresh).synth();
      const committedDir = resolve(root, t.outdir);
      const committed = existsSync(committedDir)
        ? readdirSync(committedDir).filter((f) => f.endsWith('.k8s.yaml'))
        : [];
      for (const f of [...new Set([...readdirSync(fresh), ...committed])].sort()) {
        const a = existsSync(join(fresh, f)) ? readFileSync(join(fresh, f), 'utf8') : undefined;
        const b = existsSync(join(committedDir, f)) ? readFileSync(join(committedDir, f), 'utf8') : undefined;
        if (a !== b) outdated.push(`${t.outdir}/${f}`);
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }
  return outdated;
}

/**
 * The command: every target is loaded, validated and synthesized to a staging folder first;
 * only when all of them built are their folders replaced, so one bad environment changes nothing.
 */
function main(): void {
  const targets = synthTargets();
  const staged: [string, string][] = [];
  try {
    for (const t of targets) {
      try {
        staged.push([stage(targetConfig(t), resolve(t.outdir)), resolve(t.outdir)]);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // With several targets, an environment's file is named; stack.yaml keeps the short form.
        const where = targets.length > 1 && t.config !== DEFAULT_CONFIG_FILE ? ` in ${t.config}` : '';
        console.error(
          `synth failed: ${err.message.replace(/^invalid configuration:/, `invalid configuration${where}:`)}`,
        );
        process.exitCode = 1;
      }
    }
    if (process.exitCode === 1) return;
    for (const [staging, outdir] of staged.splice(0)) swapIn(staging, outdir);
  } finally {
    for (const [staging] of staged) rmSync(staging, { recursive: true, force: true });
  }
}

// Tests import buildApp from this module; only running it as the program synthesizes. The
// check is on the script name rather than import.meta so the module also loads as CommonJS
// (bench/synth.mjs times the cdk8s template's ts-node way of running it): the esbuild bundle
// runs as .build/main.mjs, ts-node runs main.ts.
if (/^main\.(ts|mjs|js)$/.test(basename(process.argv[1] ?? ''))) main();
