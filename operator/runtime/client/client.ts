// The writes a controller makes, with @kubernetes/client-node: create, server-side apply under
// the controller's field manager, status merge patches of custom resources, and Events.
// Reads come from the informer caches, never from here.
import * as k8s from '@kubernetes/client-node';
import type { JsonObject, KubeObject } from '../object';

export interface ClientOptions {
  /** Field manager of creates, applies and status patches; also the Events' component. */
  fieldManager: string;
  /** This process (the Events' reporting instance), e.g. the leader election identity. */
  identity: string;
}

export type EventType = 'Normal' | 'Warning';

export class Client {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly options: ClientOptions,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async create(obj: JsonObject): Promise<void> {
    await this.objects.create(obj as k8s.KubernetesObject, undefined, undefined, this.options.fieldManager);
  }

  /** Server-side apply with force (this field manager owns what it applies); resolves with the object as stored. */
  async apply(obj: JsonObject): Promise<KubeObject> {
    return (await this.objects.patch(
      obj as k8s.KubernetesObject,
      undefined,
      undefined,
      this.options.fieldManager,
      true,
      k8s.PatchStrategy.ServerSideApply,
    )) as KubeObject;
  }

  /**
   * Merge-patches the status subresource of custom resource `obj` (of resource `plural`),
   * without a resourceVersion: for a controller that is the only writer of status, an
   * optimistic-concurrency 409 after its own previous write would only cost a retry.
   */
  async patchStatus(obj: KubeObject, plural: string, status: object): Promise<void> {
    const [group, version] = (obj.apiVersion ?? '').split('/');
    if (!group || !version)
      throw new Error(`patchStatus needs a custom resource (group/version), got apiVersion "${obj.apiVersion}"`);
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace: obj.metadata.namespace!,
        plural,
        name: obj.metadata.name,
        body: { status },
        fieldManager: this.options.fieldManager,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /** Records an Event about namespaced object `obj` (which must carry its kind). */
  async event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    const namespace = obj.metadata.namespace!;
    const component = this.options.fieldManager;
    await this.core.createNamespacedEvent({
      namespace,
      body: {
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
    });
  }
}
