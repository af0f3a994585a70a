// The reconciler's writes, on the runtime's client: operand objects under the operator's field
// manager, status patches of Memcached objects, and Events about them.
import { FIELD_MANAGER, MEMCACHED_KIND, MEMCACHED_PLURAL } from '../../constructs/memcached-api';
import type { KubeAccess } from '../runtime/client/access';
import { Client } from '../runtime/client/client';
import type { JsonObject, KubeObject, ResourceRef } from '../runtime/object';
import type { Writer } from './reconcile';
import { OPERAND_RESOURCES } from './resources';

function operandResource(obj: JsonObject): ResourceRef {
  const resource = OPERAND_RESOURCES[String(obj.kind)];
  if (!resource) throw new Error(`the operator does not write ${String(obj.kind)} objects`);
  return resource;
}

function memcachedResource(cr: KubeObject): ResourceRef {
  const [group, version] = (cr.apiVersion ?? '').split('/');
  if (!group || !version) throw new Error(`not a Memcached object: apiVersion "${cr.apiVersion}"`);
  return { group, version, plural: MEMCACHED_PLURAL, namespaced: true };
}

export class KubeWriter implements Writer {
  private readonly client: Client;

  constructor(kc: KubeAccess, identity: string) {
    this.client = new Client(kc, { fieldManager: FIELD_MANAGER, identity });
  }

  create(obj: JsonObject): Promise<void> {
    return this.client.create(operandResource(obj), obj);
  }

  apply(obj: JsonObject): Promise<KubeObject> {
    return this.client.apply(operandResource(obj), obj);
  }

  patch(obj: JsonObject, patch: object): Promise<KubeObject> {
    return this.client.mergePatch(operandResource(obj), obj, patch);
  }

  patchStatus(cr: KubeObject, status: object): Promise<void> {
    return this.client.patchStatus(memcachedResource(cr), cr, status);
  }

  event(cr: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.client.event({ ...cr, kind: cr.kind ?? MEMCACHED_KIND }, type, reason, message);
  }
}
