// The reconciler's writes, on the runtime's client: operand objects under the operator's field
// manager, status patches of Memcached objects, and Events about them.
import { FIELD_MANAGER, MEMCACHED_KIND, MEMCACHED_PLURAL } from '../../constructs/memcached-api';
import type { KubeConfig } from '@kubernetes/client-node';
import { Client } from '../runtime/client/client';
import type { JsonObject, KubeObject } from '../runtime/object';
import type { Writer } from './reconcile';

export class KubeWriter implements Writer {
  private readonly client: Client;

  constructor(kc: KubeConfig, identity: string) {
    this.client = new Client(kc, { fieldManager: FIELD_MANAGER, identity });
  }

  create(obj: JsonObject): Promise<void> {
    return this.client.create(obj);
  }

  apply(obj: JsonObject): Promise<KubeObject> {
    return this.client.apply(obj);
  }

  patchStatus(cr: KubeObject, status: object): Promise<void> {
    return this.client.patchStatus(cr, MEMCACHED_PLURAL, status);
  }

  event(cr: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.client.event({ ...cr, kind: cr.kind ?? MEMCACHED_KIND }, type, reason, message);
  }
}
