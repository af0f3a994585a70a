// The reconciler's writes, with @kubernetes/client-node: create, server-side apply under the
// operator's field manager, status merge patches, and Events.
import * as k8s from '@kubernetes/client-node';
import { FIELD_MANAGER, MEMCACHED_PLURAL } from '../constructs/memcached-api';
import type { Writer } from './reconcile';
import type { KubeObject } from './status';

export class KubeWriter implements Writer {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly identity: string,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async create(obj: Record<string, any>): Promise<void> {
    await this.objects.create(obj as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER);
  }

  async apply(obj: Record<string, any>): Promise<void> {
    await this.objects.patch(obj as k8s.KubernetesObject, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }

  async patchStatus(cr: KubeObject, status: object): Promise<void> {
    const [group, version] = cr.apiVersion!.split('/');
    // A merge patch without resourceVersion: the operator is the only writer of status, so an
    // optimistic-concurrency 409 after its own previous write would only cost a retry.
    await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace: cr.metadata!.namespace!, plural: MEMCACHED_PLURAL, name: cr.metadata!.name!, body: { status }, fieldManager: FIELD_MANAGER },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  async event(cr: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    const namespace = cr.metadata!.namespace!;
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${cr.metadata!.name}.`, namespace },
        involvedObject: {
          apiVersion: cr.apiVersion,
          kind: cr.kind ?? 'Memcached',
          name: cr.metadata!.name,
          namespace,
          uid: cr.metadata!.uid,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
        reportingInstance: this.identity,
      },
    });
  }
}
