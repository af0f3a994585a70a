// Stack 2 of the tutorial: the same Redis container under a Deployment, so a deleted or
// evicted pod is replaced by the ReplicaSet controller. Each replica is an independent,
// empty cache: a Deployment gives self-healing, not shared data.
import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { restrictedPod } from './hardening';
import {
  REDIS_PORT,
  REDIS_PORT_NAME,
  REDIS_UID,
  RedisCommon,
  clientLabel,
  ingressPolicy,
  redisLabels,
  standaloneRedisContainer,
} from './redis-common';
import { dnsLabel, replicas } from './validation';

export const redisDeploymentSchema = z.strictObject({
  name: dnsLabel().default('redis-deployment'),
  replicas: replicas(20).default(1),
});
export type RedisDeploymentConfig = z.output<typeof redisDeploymentSchema>;

export interface RedisDeploymentChartProps extends ChartProps {
  readonly config: RedisDeploymentConfig;
  readonly redis: RedisCommon;
}

export class RedisDeploymentChart extends Chart {
  constructor(scope: Construct, id: string, props: RedisDeploymentChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const { name } = props.config;
    const labels = redisLabels(name, props.redis.image);
    const data = kplus.Volume.fromEmptyDir(this, 'data', 'data');
    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name, labels: labels.metadata },
      replicas: props.config.replicas,
      select: false,
      // A single Redis must not run twice during a rollout.
      strategy: kplus.DeploymentStrategy.recreate(),
      securityContext: restrictedPod(REDIS_UID),
      automountServiceAccountToken: false,
      containers: [standaloneRedisContainer(props.redis, data)],
      volumes: [data],
    });
    deployment.select(kplus.LabelSelector.of({ labels: labels.selector }));
    for (const [k, v] of Object.entries(labels.metadata)) deployment.podMetadata.addLabel(k, v);

    const service = new kplus.Service(this, 'service', {
      metadata: { name, labels: labels.metadata },
      ports: [{ name: REDIS_PORT_NAME, port: REDIS_PORT, targetPort: REDIS_PORT }],
    });
    for (const [k, v] of Object.entries(labels.selector)) service.selectLabel(k, v);

    // Only pods labelled <name>-client=true reach it.
    ingressPolicy(this, 'network-policy', {
      name,
      labels: labels.metadata,
      podSelector: labels.selector,
      rules: [{ from: [{ podSelector: { matchLabels: clientLabel(name) } }], ports: [REDIS_PORT] }],
    });
  }
}
