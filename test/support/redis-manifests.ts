// Reads the synthesized Redis manifests (dist/*.k8s.yaml) for the Redis suites.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { redisCommonSchema } from '../../constructs/redis-common';
import { RedisHaChart, redisHaSchema } from '../../constructs/redis-ha';
import { parseConfig } from '../../constructs/validation';
import { distDir, loadDist } from './dist';

type Json = any;

/**
 * dist/redis-ha.k8s.yaml; until main.ts renders that chart, the chart with its default
 * configuration rendered in memory the same way (namespace default, cluster.local).
 */
export function redisHaManifests(): Json[] {
  if (existsSync(join(distDir(), 'redis-ha.k8s.yaml'))) return loadDist('redis-ha');
  console.warn(
    'dist/redis-ha.k8s.yaml missing: testing the redis-ha chart rendered in memory with its default configuration',
  );
  const chart = new RedisHaChart(new App(), 'redis-ha', {
    namespace: 'default',
    clusterDomain: 'cluster.local',
    config: parseConfig(redisHaSchema, {}),
    redis: parseConfig(redisCommonSchema, {}),
  });
  return chart.toJson();
}

export function find(objs: Json[], kind: string, name?: string): Json {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  if (!o) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in manifests`);
  return o;
}
