// The Memcached API's OpenAPI v3 schema: the one definition of its fields, bounds and
// defaults. The CRD (memcached-crd.ts) serves it; memcached-api.ts reads the defaults and bounds
// from it and derives the status types from it; `npm run import` generates the spec types in
// imports/ from the synthesized CRD. Nothing here is retyped anywhere else.
import type { k8s } from 'cdk8s-plus-28';

/**
 * Returns `schema` unchanged, typed both as a Kubernetes JSONSchemaProps (checked) and as its
 * literal self (so `FromSchema` and the constants below see `minimum: 0`, not `number`).
 */
function jsonSchema<const S extends k8s.JsonSchemaProps>(schema: S): S {
  return schema;
}

const size = { minimum: 0, maximum: 5, default: 1 } as const;
const containerPort = { minimum: 1, maximum: 65535, default: 11211 } as const;

export const conditionSchema = jsonSchema({
  type: 'object',
  description: 'One aspect of the current state, in the standard Kubernetes Condition form.',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316, description: 'Condition type: Available, Progressing or Degraded.' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'True, False or Unknown.' },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'The .metadata.generation this condition was computed from.',
    },
    lastTransitionTime: { type: 'string', format: 'date-time', description: 'When the status last changed.' },
    reason: {
      type: 'string',
      maxLength: 1024,
      minLength: 1,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description: 'Machine-readable CamelCase reason for the last transition.',
    },
    message: { type: 'string', maxLength: 32768, description: 'Human-readable details about the last transition.' },
  },
});

export const memcachedSpecSchema = jsonSchema({
  type: 'object',
  description: 'Desired state of the cache.',
  default: {},
  properties: {
    size: {
      type: 'integer',
      format: 'int32',
      ...size,
      description: `Number of memcached pods (${size.minimum} to ${size.maximum}; default ${size.default}). Also set by "kubectl scale".`,
    },
    containerPort: {
      type: 'integer',
      format: 'int32',
      ...containerPort,
      description: `Port memcached listens on and the Service exposes (${containerPort.minimum} to ${containerPort.maximum}; default ${containerPort.default}).`,
    },
  },
});

export const memcachedStatusSchema = jsonSchema({
  type: 'object',
  description: 'Observed state, written by the operator.',
  properties: {
    nodes: {
      type: 'array',
      items: { type: 'string', description: 'A pod name.' },
      description: 'Names of the memcached pods.',
    },
    replicas: {
      type: 'integer',
      format: 'int32',
      minimum: 0,
      description: 'Pods of the Deployment (the scale subresource reads this).',
    },
    readyReplicas: { type: 'integer', format: 'int32', minimum: 0, description: 'Pods that are ready.' },
    selector: {
      type: 'string',
      description: 'Label selector of the pods, in string form (for the scale subresource and autoscalers).',
    },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'The .metadata.generation the operator last acted on.',
    },
    conditions: {
      type: 'array',
      description:
        'Available: the cache serves with the desired size. Progressing: a change is rolling out. Degraded: the operator cannot reach the desired state. Reconciling and Stalled (present only while True, for kstatus readers such as Flux): the operator is working towards the desired state; it cannot reach it without somebody acting.',
      items: conditionSchema,
      xKubernetesListType: 'map',
      xKubernetesListMapKeys: ['type'],
    },
  },
});

/**
 * The object's name is also its Service's name, and a Service name is a DNS-1035 label
 * (at most 63 characters of a-z, 0-9 and '-', starting with a letter), which is stricter than
 * the DNS subdomain (253 characters, dots) the API server allows for custom objects. Checked at
 * admission, so such a name is refused with a reason instead of producing a Deployment whose
 * Service can never be created.
 */
export const SERVICE_NAME_MAX_LENGTH = 63;
export const memcachedNameRules = [
  {
    rule: `size(self.metadata.name) <= ${SERVICE_NAME_MAX_LENGTH}`,
    message: `metadata.name must be at most ${SERVICE_NAME_MAX_LENGTH} characters: it is also the name of the cache's Service`,
    fieldPath: '.metadata.name',
    reason: 'FieldValueInvalid',
  },
  {
    rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    message:
      "metadata.name must consist of lower case letters, digits and '-', start with a letter and end with a letter or digit (no dots): it is also the name of the cache's Service, a DNS-1035 label",
    fieldPath: '.metadata.name',
    reason: 'FieldValueInvalid',
  },
] as const;

export const memcachedSchema = jsonSchema({
  type: 'object',
  description:
    'Memcached is a memcached cache managed by the memcached-operator: a Deployment of `size` pods and a Service in front of them.',
  xKubernetesValidations: [...memcachedNameRules],
  properties: {
    apiVersion: { type: 'string', description: 'Versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind of this REST resource: Memcached.' },
    // name is declared (no restriction of its own) so the name rules above can point at it.
    metadata: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
          description:
            "Name of the cache, also of its Deployment and Service: a DNS-1035 label (at most 63 characters of a-z, 0-9 and '-', starting with a letter).",
        },
      },
    },
    spec: memcachedSpecSchema,
    status: memcachedStatusSchema,
  },
});

/**
 * The TypeScript type of the values a schema admits, for the parts of JSON schema this API
 * uses (object, array, string, integer, number, boolean, enum, required). With `Defaulted` set,
 * a property that has a `default` is present too (the API server fills it in).
 */
export type FromSchema<S, Defaulted extends boolean = false> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: 'string' }
    ? string
    : S extends { type: 'integer' | 'number' }
      ? number
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'array'; items: infer I }
          ? FromSchema<I, Defaulted>[]
          : S extends { type: 'object'; properties: infer P }
            ? ObjectFromSchema<
                P,
                | (S extends { required: readonly (infer R)[] } ? R : never)
                | (Defaulted extends true ? DefaultedKeys<P> : never),
                Defaulted
              >
            : S extends { type: 'object' }
              ? Record<string, unknown>
              : unknown;

type DefaultedKeys<P> = { [K in keyof P]: P[K] extends { default: unknown } ? K : never }[keyof P];

type ObjectFromSchema<P, Required, Defaulted extends boolean> = Simplify<
  { [K in keyof P as K extends Required ? K : never]: FromSchema<P[K], Defaulted> } & {
    [K in keyof P as K extends Required ? never : K]?: FromSchema<P[K], Defaulted>;
  }
>;

type Simplify<T> = { [K in keyof T]: T[K] };
