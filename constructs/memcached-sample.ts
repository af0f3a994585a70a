// The tutorial's sample Memcached object. It lives in its own file so that users apply it
// after the CRD from memcached-operator.k8s.yaml is established.
import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { z } from 'zod';
import type { MemcachedProps } from '../imports/cache.example.com';
import { MEMCACHED_KIND, PORT_DEFAULT, SIZE_MAX, SIZE_MIN, memcachedApiVersion } from './memcached-api';
import { dnsLabel, port } from './validation';

export const memcachedSampleSchema = z.strictObject({
  name: dnsLabel().default('memcached-sample'),
  namespace: dnsLabel().default('default'),
  size: z
    .number()
    .int('must be a whole number')
    .min(SIZE_MIN, `must be at least ${SIZE_MIN}`)
    .max(SIZE_MAX, `must be at most ${SIZE_MAX}`)
    .default(3),
  containerPort: port().default(PORT_DEFAULT),
});
export type MemcachedSampleConfig = z.output<typeof memcachedSampleSchema>;

export interface MemcachedSampleChartProps extends ChartProps {
  readonly config: MemcachedSampleConfig;
  readonly groupDomain: string;
}

/**
 * For Argo CD, which dry-runs every object before a sync (the sample's dry-run fails while its
 * CRD is missing) and applies a sync wave only once the earlier waves are healthy (a CRD is
 * healthy once Established): skip the dry-run when the kind is unknown, and go one wave after
 * the CRD (wave 0). Flux and kubectl ignore both; Flux applies CRDs first anyway.
 */
export const ARGO_CD_AFTER_CRD = {
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
  'argocd.argoproj.io/sync-wave': '1',
} as const;

export class MemcachedSampleChart extends Chart {
  constructor(scope: Construct, id: string, props: MemcachedSampleChartProps) {
    super(scope, id, { ...props, disableResourceNameHashes: true });
    const { name, namespace, size, containerPort } = props.config;
    // Typed by the props `npm run import` generates from the CRD. Not the generated class
    // itself: its API version is fixed to the default group domain, the configured one wins.
    const sample: MemcachedProps = {
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/name': 'memcached', 'app.kubernetes.io/instance': name },
        annotations: ARGO_CD_AFTER_CRD,
      },
      spec: { size, containerPort },
    };
    new ApiObject(this, 'sample', {
      apiVersion: memcachedApiVersion(props.groupDomain),
      kind: MEMCACHED_KIND,
      ...sample,
    });
  }
}
