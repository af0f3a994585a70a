// Reads synthesized manifests (dist/*.k8s.yaml) for the real-process harness.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { redisCommonSchema } from '../../constructs/redis-common';
import { RedisHaChart, redisHaSchema } from '../../constructs/redis-ha';
import { parseConfig } from '../../constructs/validation';
import { distDir, loadDist } from './dist';
import type { FakeCluster, FakePod } from './pod-runner';

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

export function all(objs: Json[], kind: string): Json[] {
  return objs.filter((x) => x.kind === kind);
}

/** ConfigMap data by ConfigMap name. */
export function configMaps(objs: Json[]): Record<string, Record<string, string>> {
  return Object.fromEntries(all(objs, 'ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
}

/** The headless Service's records for one StatefulSet pod: `<pod>.<svc>.<ns>.svc.<domain>`. */
export function statefulSetPodName(sts: Json, ordinal: number): string {
  return `${sts.metadata.name}-${ordinal}`;
}

/**
 * Starts ordinal `ordinal` of a StatefulSet as a fake pod: hostname <sts>-<i>, subdomain =
 * serviceName, one persistent directory per volumeClaimTemplate (kept across restarts of
 * the pod under `cluster.dir/pvc/<claim>-<pod>`).
 */
export async function startStatefulSetPod(
  cluster: FakeCluster,
  sts: Json,
  ordinal: number,
  opts: { publishDns?: boolean; restartDelayMs?: number } = {},
): Promise<FakePod> {
  const name = statefulSetPodName(sts, ordinal);
  const pvcs: Record<string, string> = {};
  for (const t of sts.spec.volumeClaimTemplates ?? []) {
    pvcs[t.metadata.name] = join(cluster.dir, 'pvc', `${t.metadata.name}-${name}`);
  }
  return cluster.addPod({
    name,
    spec: sts.spec.template.spec,
    subdomain: sts.spec.serviceName,
    pvcs,
    publishDns: opts.publishDns,
    restartDelayMs: opts.restartDelayMs,
  });
}
