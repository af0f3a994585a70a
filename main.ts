// The cdk8s app (`cdk8s.yaml` runs it through scripts/run-ts.mjs; so does `npm run synth`):
// read and validate the configuration, build every chart, and only then replace the YAML in
// the output directory (dist/, or CDK8S_OUTDIR when `cdk8s synth` runs it). Each chart becomes
// one file, dist/<chart>.k8s.yaml. A configuration error prints the fields at fault and exits
// 1; any failure leaves the previous output untouched.
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { loadStackConfig, StackConfig } from './constructs/config';
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
    [new RedisPodChart(app, 'redis-pod', { namespace: redis.namespace, config: redis.pod, redis: common }), 'redis.pod.name', 'redis.namespace'],
    [new RedisDeploymentChart(app, 'redis-deployment', { namespace: redis.namespace, config: redis.deployment, redis: common }), 'redis.deployment.name', 'redis.namespace'],
    [new RedisStatefulSetChart(app, 'redis-statefulset', { namespace: redis.namespace, config: redis.statefulset, redis: common, clusterDomain }), 'redis.statefulset.name', 'redis.namespace'],
    [new RedisHaChart(app, 'redis-ha', { namespace: redis.namespace, config: redis.ha, redis: common, clusterDomain }), 'redis.ha.name', 'redis.namespace'],
    [new MemcachedOperatorChart(app, 'memcached-operator', { config: memcached.operator }), undefined, 'memcached.operator.namespace'],
    [new MemcachedSampleChart(app, 'memcached-sample', { config: memcached.sample, groupDomain: memcached.operator.groupDomain }), 'memcached.sample.name', 'memcached.sample.namespace'],
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
    owner: { apiVersion: memcachedApiVersion(memcached.operator.groupDomain), name: sample.name, namespace: sample.namespace, uid: '' },
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
 * Synthesizes every chart into a staging directory beside `outdir`, then replaces the
 * `*.k8s.yaml` files of `outdir` with them. Nothing in `outdir` changes unless the whole app
 * was built (configuration errors and construct errors both throw before the swap).
 */
export function synthesize(config: StackConfig, outdir: string): void {
  mkdirSync(dirname(outdir), { recursive: true });
  const staging = mkdtempSync(join(dirname(outdir), '.synth-'));
  try {
    buildApp(config, staging).synth();
    mkdirSync(outdir, { recursive: true });
    for (const f of readdirSync(outdir)) if (f.endsWith('.k8s.yaml')) rmSync(join(outdir, f));
    for (const f of readdirSync(staging)) renameSync(join(staging, f), join(outdir, f));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The command: configuration from STACK_CONFIG or stack.yaml, output to CDK8S_OUTDIR or dist/. */
function main(): void {
  try {
    synthesize(loadStackConfig(), resolve(process.env.CDK8S_OUTDIR ?? 'dist'));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`synth failed: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

// Tests import buildApp from this module; only running it as the program synthesizes. The
// check is on the script name rather than import.meta so the module also loads as CommonJS
// (bench/synth.mjs times the cdk8s template's ts-node way of running it): the esbuild bundle
// runs as .build/main.mjs, ts-node runs main.ts.
if (/^main\.(ts|mjs|js)$/.test(basename(process.argv[1] ?? ''))) main();
