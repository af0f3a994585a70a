// The whole synth configuration: one YAML file (stack.yaml by default, or the file named by
// STACK_CONFIG), validated field by field. Every field has a default, so an empty file is valid;
// an unknown key or a bad value fails synth with the field's dotted path and the rule.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { memcachedOperatorSchema } from './memcached-operator';
import { memcachedSampleSchema } from './memcached-sample';
import { olmBundleSchema } from './olm-bundle';
import { redisCommonSchema } from './redis-common';
import { redisDeploymentSchema } from './redis-deployment';
import { redisHaSchema } from './redis-ha';
import { redisPodSchema } from './redis-pod';
import { redisStatefulSetSchema } from './redis-statefulset';
import { ConfigError, dnsLabel, dnsSubdomain, parseConfig } from './validation';

export const stackSchema = z
  .strictObject({
    /** The cluster's DNS domain, used in the replication host names. */
    clusterDomain: dnsSubdomain().default('cluster.local'),
    redis: z
      .strictObject({
        /** Namespace of every Redis stack (it must exist; `default` always does). */
        namespace: dnsLabel().default('default'),
        ...redisCommonSchema.shape,
        pod: redisPodSchema.prefault({}),
        deployment: redisDeploymentSchema.prefault({}),
        statefulset: redisStatefulSetSchema.prefault({}),
        ha: redisHaSchema.prefault({}),
      })
      .prefault({}),
    memcached: z
      .strictObject({
        operator: memcachedOperatorSchema.prefault({}),
        sample: memcachedSampleSchema.prefault({}),
        /** The OLM bundle (`npm run bundle`); see docs/olm.md. */
        olm: olmBundleSchema.prefault({}),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    // An operator limited to some namespaces never sees a sample outside them.
    const { watchNamespaces } = c.memcached.operator;
    const { namespace } = c.memcached.sample;
    if (watchNamespaces.length > 0 && !watchNamespaces.includes(namespace)) {
      ctx.addIssue({
        code: 'custom',
        path: ['memcached', 'sample', 'namespace'],
        message: `"${namespace}" is not in memcached.operator.watchNamespaces (${watchNamespaces.join(', ')}), so the operator would never reconcile the sample; add it there or move the sample`,
      });
    }
  });
export type StackConfig = z.output<typeof stackSchema>;

export const DEFAULT_CONFIG_FILE = 'stack.yaml';

/** Parses and validates configuration given as an object (e.g. in tests). */
export function parseStackConfig(input: unknown): StackConfig {
  return parseConfig(stackSchema, input ?? {});
}

/**
 * Reads and validates a YAML configuration file. A missing file is an error, except for the
 * default stack.yaml (when STACK_CONFIG does not name a file), which means "all defaults".
 */
export function loadStackConfig(
  file = process.env.STACK_CONFIG ?? DEFAULT_CONFIG_FILE,
  optional = !process.env.STACK_CONFIG && file === DEFAULT_CONFIG_FILE,
): StackConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && optional) return parseStackConfig({});
    throw new ConfigError([`${file}: cannot read configuration file (${(err as Error).message})`]);
  }
  let input: unknown;
  try {
    input = parse(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`]);
  }
  return parseStackConfig(input);
}
