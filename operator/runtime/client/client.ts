// The writes a controller makes: create, server-side apply under the controller's field
// manager, merge patches (of objects and of status), and Events. Reads come from the
// informer caches, never from here.
//
// Plain JSON (kube-request.ts: the access's TLS, auth and kept connection), not client-node's
// generated typed clients: those serialize a request body and
// deserialize the answer through the typed models (walking every field of a Deployment and
// turning timestamps into Date objects) only for the controller to throw the answer away or
// read a resourceVersion from it. The requests and their answers are the same.
import type { KubeAccess } from './access';
import { kubeRequest } from './kube-request';
import { resourcePath, type JsonObject, type KubeObject, type ResourceRef } from '../object';

export interface ClientOptions {
  /** Field manager of creates, applies and status patches; also the Events' component. */
  fieldManager: string;
  /** This process (the Events' reporting instance), e.g. the leader election identity. */
  identity: string;
}

export type EventType = 'Normal' | 'Warning';

const EVENTS: ResourceRef = { group: '', version: 'v1', plural: 'events', namespaced: true };

export class Client {
  constructor(
    private readonly kc: KubeAccess,
    private readonly options: ClientOptions,
  ) {}

  /** Creates `obj`, a `resource`; rejects with 409 when the name is taken. */
  async create(resource: ResourceRef, obj: JsonObject): Promise<void> {
    await kubeRequest(this.kc, {
      method: 'POST',
      path: resourcePath(resource, obj.metadata?.namespace),
      query: { fieldManager: this.options.fieldManager },
      body: obj,
      discardBody: true,
    });
  }

  /** Server-side apply with force (this field manager owns what it applies); resolves with the object as stored. */
  apply(resource: ResourceRef, obj: JsonObject): Promise<KubeObject> {
    return kubeRequest<KubeObject>(this.kc, {
      method: 'PATCH',
      path: objectPath(resource, obj),
      query: { fieldManager: this.options.fieldManager, force: true },
      // JSON is YAML: the apply patch type takes the object as it is.
      contentType: 'application/apply-patch+yaml',
      body: obj,
    });
  }

  /**
   * JSON merge patch of `obj` (a `resource`) under this field manager; resolves with the object
   * as stored. For a change of a few known fields, cheaper for the API server than applying the
   * whole object. The fields it changes are owned by this manager's Update entry until the next
   * apply (which, with force, takes them back).
   */
  mergePatch(resource: ResourceRef, obj: JsonObject, patch: object): Promise<KubeObject> {
    return kubeRequest<KubeObject>(this.kc, {
      method: 'PATCH',
      path: objectPath(resource, obj),
      query: { fieldManager: this.options.fieldManager },
      contentType: 'application/merge-patch+json',
      body: patch,
    });
  }

  /**
   * Merge-patches the status subresource of `obj` (a `resource`) without a resourceVersion:
   * for a controller that is the only writer of status, an optimistic-concurrency 409 after
   * its own previous write would only cost a retry.
   */
  async patchStatus(resource: ResourceRef, obj: KubeObject, status: object): Promise<void> {
    await kubeRequest(this.kc, {
      method: 'PATCH',
      path: `${objectPath(resource, obj)}/status`,
      query: { fieldManager: this.options.fieldManager },
      contentType: 'application/merge-patch+json',
      body: { status },
      discardBody: true,
    });
  }

  /** Records an Event about namespaced object `obj` (which must carry its kind). */
  async event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const namespace = obj.metadata.namespace!;
    const component = this.options.fieldManager;
    await kubeRequest(this.kc, {
      method: 'POST',
      path: resourcePath(EVENTS, namespace),
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${obj.metadata.name}.`, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace,
          uid: obj.metadata.uid,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component },
        reportingComponent: component,
        reportingInstance: this.options.identity,
      },
      discardBody: true,
    });
  }
}

/** The API path of one object. */
function objectPath(resource: ResourceRef, obj: { metadata?: { name?: string; namespace?: string } }): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`a ${resource.plural} object needs metadata.name`);
  return `${resourcePath(resource, obj.metadata?.namespace)}/${encodeURIComponent(name)}`;
}
