// The Memcached API and the operator's permissions, declared once. The CRD, the RBAC objects,
// the sample and the operator's own code all read these, so they cannot drift apart. Bounds,
// defaults and status types come from the schema (memcached-schema.ts); the spec type is the
// one `npm run import` generates from the CRD (imports/), as the cdk8s convention has it.
import type { MemcachedSpec as GeneratedMemcachedSpec } from '../imports/cache.example.com';
import { conditionSchema, FromSchema, memcachedSpecSchema, memcachedStatusSchema } from './memcached-schema';

export const MEMCACHED_KIND = 'Memcached';
export const MEMCACHED_LIST_KIND = 'MemcachedList';
export const MEMCACHED_PLURAL = 'memcacheds';
export const MEMCACHED_SINGULAR = 'memcached';
export const MEMCACHED_SHORT_NAMES = ['mc'];
export const MEMCACHED_VERSION = 'v1alpha1';
export const DEFAULT_GROUP_DOMAIN = 'example.com';
/** The namespace the operator chart installs into by default. */
export const DEFAULT_OPERATOR_NAMESPACE = 'memcached-operator-system';
/** The memcached image the operator runs when MEMCACHED_IMAGE is not set (synth sets it). */
export const DEFAULT_MEMCACHED_IMAGE = 'memcached:1.6.39-alpine';

/** Field manager used by the operator's server-side apply and status patches. */
export const FIELD_MANAGER = 'memcached-operator';

const { size, containerPort } = memcachedSpecSchema.properties;
export const SIZE_MIN: number = size.minimum;
export const SIZE_MAX: number = size.maximum;
export const SIZE_DEFAULT: number = size.default;
export const PORT_DEFAULT: number = containerPort.default;

/** `cache.<domain>`: the API group for a group domain such as `example.com`. */
export function memcachedGroup(domain = DEFAULT_GROUP_DOMAIN): string {
  return `cache.${domain}`;
}

export function memcachedApiVersion(domain = DEFAULT_GROUP_DOMAIN): string {
  return `${memcachedGroup(domain)}/${MEMCACHED_VERSION}`;
}

/** The Memcached spec after the CRD's defaults are applied (every field present). */
export type MemcachedSpec = Required<GeneratedMemcachedSpec>;

/** One status condition, in the standard Kubernetes form. */
export type Condition = FromSchema<typeof conditionSchema>;

/** What the operator reports in `.status`. */
export type MemcachedStatus = FromSchema<typeof memcachedStatusSchema>;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const READ = ['get', 'list', 'watch'];

/**
 * Everything the controller does, and nothing more:
 * - reads and watches Memcached objects, writes their status (merge patch);
 * - server-side applies Deployments and Services (patch) and watches them (ownership is
 *   checked from the cache, so it never needs delete: garbage collection removes operands);
 * - watches Pods for `status.nodes` and readiness;
 * - records Events (events.k8s.io and the core group, whichever the client uses).
 * `update` on memcacheds/finalizers lets the owner references it sets carry
 * blockOwnerDeletion when the OwnerReferencesPermissionEnforcement admission plugin is on.
 */
export function operatorRules(domain = DEFAULT_GROUP_DOMAIN): PolicyRule[] {
  const group = memcachedGroup(domain);
  return [
    { apiGroups: [group], resources: [MEMCACHED_PLURAL], verbs: READ },
    { apiGroups: [group], resources: [`${MEMCACHED_PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
    { apiGroups: [group], resources: [`${MEMCACHED_PLURAL}/finalizers`], verbs: ['update'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: [...READ, 'create', 'patch'] },
    { apiGroups: [''], resources: ['services'], verbs: [...READ, 'create', 'patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: READ },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

/** Leader election, in the operator's own namespace only. */
export function leaderElectionRules(): PolicyRule[] {
  return [
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
    },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

/** For people: read-only access, aggregated into the built-in `view` role. */
export function viewerRules(domain = DEFAULT_GROUP_DOMAIN): PolicyRule[] {
  const group = memcachedGroup(domain);
  return [
    { apiGroups: [group], resources: [MEMCACHED_PLURAL], verbs: READ },
    { apiGroups: [group], resources: [`${MEMCACHED_PLURAL}/status`], verbs: ['get'] },
  ];
}

/**
 * For people: full control of Memcached objects, aggregated into the built-in `edit` role.
 * Status belongs to the operator: editors read it (as kubebuilder's editor roles do) but cannot
 * write it, or they could fake readiness. The scale subresource writes spec.size, so they may.
 */
export function editorRules(domain = DEFAULT_GROUP_DOMAIN): PolicyRule[] {
  const group = memcachedGroup(domain);
  return [
    {
      apiGroups: [group],
      resources: [MEMCACHED_PLURAL],
      verbs: [...READ, 'create', 'update', 'patch', 'delete', 'deletecollection'],
    },
    { apiGroups: [group], resources: [`${MEMCACHED_PLURAL}/status`], verbs: ['get'] },
    { apiGroups: [group], resources: [`${MEMCACHED_PLURAL}/scale`], verbs: ['get', 'update', 'patch'] },
  ];
}
