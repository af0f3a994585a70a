// Composes every chart from the validated configuration. Each chart becomes one file,
// dist/<chart>.k8s.yaml. Nothing is written unless every chart was built without error.
import { App, YamlOutputType } from 'cdk8s';
import { loadStackConfig, StackConfig } from './constructs/config';
import { MemcachedOperatorChart } from './constructs/memcached-operator';
import { MemcachedSampleChart } from './constructs/memcached-sample';
import { RedisDeploymentChart } from './constructs/redis-deployment';
import { RedisHaChart } from './constructs/redis-ha';
import { RedisPodChart } from './constructs/redis-pod';
import { RedisStatefulSetChart } from './constructs/redis-statefulset';

/** The charts in the order people meet them in the tutorial. */
export function buildApp(config: StackConfig, outdir: string): App {
  const app = new App({ outdir, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
  const { redis, memcached, clusterDomain } = config;
  const common = { image: redis.image, resources: redis.resources };
  new RedisPodChart(app, 'redis-pod', { namespace: redis.namespace, config: redis.pod, redis: common });
  new RedisDeploymentChart(app, 'redis-deployment', { namespace: redis.namespace, config: redis.deployment, redis: common });
  new RedisStatefulSetChart(app, 'redis-statefulset', { namespace: redis.namespace, config: redis.statefulset, redis: common, clusterDomain });
  new RedisHaChart(app, 'redis-ha', { namespace: redis.namespace, config: redis.ha, redis: common, clusterDomain });
  new MemcachedOperatorChart(app, 'memcached-operator', { config: memcached.operator });
  new MemcachedSampleChart(app, 'memcached-sample', { config: memcached.sample, groupDomain: memcached.operator.groupDomain });
  return app;
}

export function loadConfig(): StackConfig {
  return loadStackConfig();
}
