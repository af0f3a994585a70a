// Field rules for synth configuration. Every rule's message says what is wrong in words a
// user can act on; `parseConfig` prefixes it with the field's dotted path.
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Kubernetes resource.Quantity: a decimal number with an optional binary/decimal SI suffix
// or exponent.
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** A DNS-1123 label: names of Namespaces, Services, StatefulSets (they become host names). */
export const dnsLabel = () =>
  z
    .string()
    .max(63, 'must be at most 63 characters (a DNS-1123 label)')
    .regex(
      DNS_LABEL,
      "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    );

/** A DNS-1123 subdomain: most object names, API groups, cluster domains. */
export const dnsSubdomain = () =>
  z
    .string()
    .max(253, 'must be at most 253 characters (a DNS-1123 subdomain)')
    .regex(DNS_SUBDOMAIN, "must be a DNS-1123 subdomain: dot-separated lowercase labels of letters, digits and '-'");

/** A container image pinned to a tag other than `latest`, or to a digest. */
export const pinnedImage = () =>
  z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => !/\s/.test(s), 'must not contain white space')
    .refine(
      (s) => imageTag(s) !== undefined || s.includes('@sha256:'),
      'must be pinned to a tag or digest (e.g. redis:8.2.2)',
    )
    .refine((s) => imageTag(s) !== 'latest', "must not use the tag 'latest' (pin a version)");

/** A Kubernetes quantity such as `1Gi`, `500m`, `128Mi`. */
export const quantity = () =>
  z.string().regex(QUANTITY, "must be a Kubernetes quantity such as '1Gi', '512Mi' or '250m'");

/** A strictly positive quantity, e.g. a volume size. */
export const positiveQuantity = () => quantity().refine((s) => parseFloat(s) > 0, 'must be greater than zero');

export const replicas = (max = 100) =>
  z.number().int('must be a whole number').min(0, 'must be 0 or more').max(max, `must be at most ${max}`);

export const port = () =>
  z
    .number()
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535');

/**
 * CPU as cdk8s-plus can render it: millicores (`250m`) or whole/decimal cores (`0.5`, `2`).
 * A YAML number (`cpu: 2`, `cpu: 0.5`) is accepted as Kubernetes accepts it, as that many cores.
 */
export const cpuQuantity = () =>
  z.preprocess(
    (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : v),
    z.string().regex(/^(\d+m|\d+(\.\d{1,3})?)$/, "must be CPU in millicores ('250m') or cores ('0.5', '2')"),
  );

/** Memory as cdk8s-plus can render it: mebibytes or gibibytes (`64Mi`, `1Gi`). */
export const memoryQuantity = () =>
  z.string().regex(/^\d+(\.\d+)?(Mi|Gi)$/, "must be memory in Mi or Gi ('64Mi', '1Gi')");

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}
/** What a user may write for `resources` (CPU also as a number; with defaults, any part). */
export interface ResourcesInput {
  requests?: { cpu?: string | number; memory?: string };
  limits?: { cpu?: string | number; memory?: string };
}

/**
 * Container requests and limits. With `defaults`, every part is optional and a partial
 * setting (only `requests`, or only `limits.memory`) is merged over the defaults field by
 * field; the merged result must still have requests within limits.
 */
export function resources(): z.ZodType<Resources, ResourcesInput>;
export function resources(defaults: Resources): z.ZodPrefault<z.ZodType<Resources, ResourcesInput>>;
export function resources(defaults?: Resources): z.ZodType {
  const pair = (d?: { cpu: string; memory: string }) =>
    d
      ? z.strictObject({ cpu: cpuQuantity().default(d.cpu), memory: memoryQuantity().default(d.memory) }).prefault({})
      : z.strictObject({ cpu: cpuQuantity(), memory: memoryQuantity() });
  const schema = z
    .strictObject({ requests: pair(defaults?.requests), limits: pair(defaults?.limits) })
    .refine((r) => cpuMillis(r.requests.cpu) <= cpuMillis(r.limits.cpu), 'requests.cpu must not exceed limits.cpu')
    .refine(
      (r) => memoryMi(r.requests.memory) <= memoryMi(r.limits.memory),
      'requests.memory must not exceed limits.memory',
    );
  return defaults ? (schema as z.ZodType<Resources, ResourcesInput>).prefault({}) : schema;
}

export function cpuMillis(cpu: string): number {
  return cpu.endsWith('m') ? parseInt(cpu, 10) : Math.round(parseFloat(cpu) * 1000);
}

export function memoryMi(mem: string): number {
  return parseFloat(mem) * (mem.endsWith('Gi') ? 1024 : 1);
}

/** The tag of an image reference, or undefined when it has none. */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? noDigest.slice(colon + 1) : undefined;
}

/** Validates `input` against `schema`; on failure throws a ConfigError naming each field. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, prefix)));
}

function describeIssue(issue: z.core.$ZodIssue, prefix: string): string {
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${path === '(root)' ? k : `${path}.${k}`}: unknown key`).join('; ');
  }
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'int' ? 'a whole number' : issue.expected;
    return `${path}: must be ${expected}`;
  }
  return `${path}: ${issue.message}`;
}
