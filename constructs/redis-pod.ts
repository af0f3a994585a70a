// Stack 1 of the tutorial: a single Redis Pod. Nothing recreates it when it dies or its node
// goes away; that is the lesson the Deployment stack answers.
import { Chart, ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import { restrictedPod } from './hardening';
import {
  REDIS_PORT,
  REDIS_UID,
  RedisCommon,
  clientLabel,
  ingressPolicy,
  redisLabels,
  standaloneRedisContainer,
} from './redis-common';
import { dnsLabel } from './validation';

export const redisPodSchema = z.strictObject({
  name: dnsLabel().default('redis'),
});
export type RedisPodConfig = z.output<typeof redisPodSchema>;

export interface RedisPodChartProps extends ChartProps {
  readonly config: RedisPodConfig;
  readonly redis: RedisCommon;
}

export class RedisPodChart extends Chart {
  constructor(scope: Construct, id: string, props: RedisPodChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const { name } = props.config;
    const labels = redisLabels(name, props.redis.image);
    const data = kplus.Volume.fromEmptyDir(this, 'data', 'data');
    new kplus.Pod(this, 'pod', {
      metadata: { name, labels: labels.metadata },
      securityContext: restrictedPod(REDIS_UID),
      automountServiceAccountToken: false,
      containers: [standaloneRedisContainer(props.redis, data)],
      volumes: [data],
    });
    // Only pods labelled <name>-client=true reach it.
    ingressPolicy(this, 'network-policy', {
      name,
      labels: labels.metadata,
      podSelector: labels.selector,
      rules: [{ from: [{ podSelector: { matchLabels: clientLabel(name) } }], ports: [REDIS_PORT] }],
    });
  }
}
