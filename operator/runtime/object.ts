// The one object type of the runtime: a plain API object as JSON (what list and watch return,
// timestamps as strings), plus resource references, cache keys and owner references.

/** Identifies an API resource: group "" is the core group (/api/v1). */
export interface ResourceRef {
  group: string;
  version: string;
  /** Lower-case plural, e.g. "deployments", "memcacheds". */
  plural: string;
  namespaced: boolean;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

/** JSON of a shape this module does not know (what `JSON.parse` gives): parts of objects that a controller types. */
export type Json = ReturnType<typeof JSON.parse>;

/** An object as sent to or read from the API server, before a controller types it. */
export type JsonObject = Record<string, Json>;

/** A plain API object; `spec` and `status` are typed by the controller that owns the type. */
export interface KubeObject<Spec = Json, Status = Json> {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

/** The resource's name as metrics and logs show it: "deployments.apps", "pods". */
export function resourceName(resource: ResourceRef): string {
  return resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
}

/** The API path of a resource collection, e.g. /apis/apps/v1/namespaces/ns/deployments. */
export function resourcePath(resource: ResourceRef, namespace?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  return resource.namespaced && namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`
    : `${base}/${resource.plural}`;
}

/** Cache and work-queue key: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The key of an object (see objectKey). */
export function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata.namespace, obj.metadata.name);
}

/** The inverse of objectKey: [namespace, name] ("" for cluster-scoped keys). */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

/** The owner reference marked `controller: true`, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((ref) => ref.controller);
}

/** True when `obj` names `owner` (by uid) as its controller. */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata?.uid);
}
