// The API resources the Memcached controller watches and writes besides its own custom resource.
import type { ResourceRef } from '../runtime/object';

export const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };
export const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', namespaced: true };
export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', namespaced: true };

/** The resource of each kind the reconciler writes (its operand's objects). */
export const OPERAND_RESOURCES: Readonly<Record<string, ResourceRef>> = { Deployment: DEPLOYMENTS, Service: SERVICES };
