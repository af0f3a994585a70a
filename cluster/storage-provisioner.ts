// A dynamic hostPath volume provisioner for the project's test cluster, the counterpart of
// kind's local-path provisioner: the control plane has no StorageClass and no provisioner, so a
// StatefulSet's claims would stay Pending for ever. This one talks to the real API server:
//   - it creates the StorageClass `standard` (marked as the cluster's default class, so that
//     the DefaultStorageClass admission plugin, on by default in kube-apiserver, writes it into
//     claims created without a class; the PV controller also gives it to older classless
//     claims), with its own provisioner name, reclaim policy Delete, immediate binding;
//   - for every Pending claim of that class it creates a hostPath PersistentVolume of the
//     claimed size and access modes, pre-bound to the claim (claimRef with the claim's uid),
//     under `root` on this machine (kwok's nodes are this machine); the PV controller binds;
//   - it deletes the PersistentVolumes it made once they are Released (their claim is gone)
//     and removes their directory.
// It runs inside the test process (or `cluster:up`): start it with startStorageProvisioner and
// stop it before the control plane.
import * as k8s from '@kubernetes/client-node';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

export const STORAGE_CLASS = 'standard';
export const PROVISIONER = 'kube-tutorial-stack.local/hostpath';
const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';

export interface StorageProvisionerOptions {
  /** directory under which each volume gets a directory of its own (created if missing) */
  root: string;
  /** name of the StorageClass (default `standard`) */
  className?: string;
  /** mark the class as the cluster default (default true) */
  defaultClass?: boolean;
  /** a full pass over claims and volumes also runs this often, besides on every watch event (default 2 s) */
  resyncMs?: number;
  /** messages about volumes made and removed, and about errors (default: none) */
  log?: (message: string) => void;
}

export interface StorageProvisioner {
  readonly className: string;
  readonly provisioner: string;
  readonly root: string;
  /** stops watching; the volumes and the StorageClass stay in the cluster */
  stop(): Promise<void>;
}

const isCode = (err: unknown, code: number) => (err as { code?: number }).code === code;

/** Creates the StorageClass (if missing) and starts provisioning; resolves once the first pass is done. */
export async function startStorageProvisioner(
  kc: k8s.KubeConfig,
  opts: StorageProvisionerOptions,
): Promise<StorageProvisioner> {
  const className = opts.className ?? STORAGE_CLASS;
  const root = resolve(opts.root);
  const log = opts.log ?? (() => undefined);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  mkdirSync(root, { recursive: true });

  try {
    await storage.createStorageClass({
      body: {
        metadata: {
          name: className,
          annotations: opts.defaultClass === false ? {} : { [DEFAULT_CLASS_ANNOTATION]: 'true' },
        },
        provisioner: PROVISIONER,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
      },
    });
  } catch (err) {
    if (!isCode(err, 409)) throw err;
    const existing = await storage.readStorageClass({ name: className });
    if (existing.provisioner !== PROVISIONER) {
      throw new Error(`StorageClass ${className} exists with provisioner ${existing.provisioner}, not ${PROVISIONER}`, {
        cause: err,
      });
    }
  }

  const volumeDir = (claim: k8s.V1PersistentVolumeClaim) =>
    join(root, `${claim.metadata!.namespace}_${claim.metadata!.name}_${claim.metadata!.uid}`);

  async function provision(claim: k8s.V1PersistentVolumeClaim): Promise<void> {
    const meta = claim.metadata!;
    const size = claim.spec?.resources?.requests?.storage;
    if (!size) return log(`claim ${meta.namespace}/${meta.name}: no storage request, not provisioned`);
    if (claim.spec?.selector) return log(`claim ${meta.namespace}/${meta.name}: has a selector, not provisioned`);
    if (claim.spec?.volumeMode === 'Block')
      return log(`claim ${meta.namespace}/${meta.name}: block volumes are not supported`);
    const path = volumeDir(claim);
    mkdirSync(path, { recursive: true });
    // World-writable, as kind's local-path provisioner makes its directories: the kubelet applies
    // no fsGroup to hostPath volumes, so a pod running as its own uid (Redis as 999) could not
    // write a root-owned 0755 directory on a real node.
    chmodSync(path, 0o777);
    try {
      await core.createPersistentVolume({
        body: {
          metadata: { name: `pvc-${meta.uid}`, annotations: { [PROVISIONED_BY]: PROVISIONER } },
          spec: {
            capacity: { storage: size },
            accessModes: claim.spec?.accessModes?.length ? claim.spec.accessModes : ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: className,
            volumeMode: 'Filesystem',
            hostPath: { path, type: 'DirectoryOrCreate' },
            claimRef: {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              namespace: meta.namespace,
              name: meta.name,
              uid: meta.uid,
            },
          },
        },
      });
      log(`provisioned pvc-${meta.uid} (${size}) for ${meta.namespace}/${meta.name} at ${path}`);
    } catch (err) {
      if (!isCode(err, 409)) throw err;
    }
  }

  async function reclaim(pv: k8s.V1PersistentVolume): Promise<void> {
    const name = pv.metadata!.name!;
    try {
      await core.deletePersistentVolume({ name });
    } catch (err) {
      if (!isCode(err, 404)) throw err;
    }
    const path = pv.spec?.hostPath?.path;
    // Only ever remove a directory of our own root.
    if (path && resolve(path).startsWith(root + sep)) rmSync(path, { recursive: true, force: true });
    log(`deleted released volume ${name}`);
  }

  /** One pass: a volume for every Pending claim of the class that has none, away with released volumes. */
  async function reconcile(): Promise<void> {
    const [claims, volumes] = await Promise.all([
      core.listPersistentVolumeClaimForAllNamespaces(),
      core.listPersistentVolume(),
    ]);
    const ours = volumes.items.filter((pv) => pv.metadata?.annotations?.[PROVISIONED_BY] === PROVISIONER);
    const claimed = new Set(ours.map((pv) => pv.spec?.claimRef?.uid));
    for (const claim of claims.items) {
      if (claim.spec?.storageClassName !== className) continue;
      if (claim.spec.volumeName || claim.status?.phase !== 'Pending' || claim.metadata?.deletionTimestamp) continue;
      if (claimed.has(claim.metadata?.uid)) continue;
      await provision(claim);
    }
    for (const pv of ours) {
      if (
        pv.status?.phase === 'Released' &&
        pv.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
        !pv.metadata?.deletionTimestamp
      ) {
        await reclaim(pv);
      }
    }
  }

  // Passes never overlap; an event during a pass asks for one more pass after it.
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  const kick = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = reconcile()
      .catch((err: unknown) => log(`storage provisioner: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          kick();
        }
      });
  };

  const informers = [
    k8s.makeInformer(kc, '/api/v1/persistentvolumeclaims', () => core.listPersistentVolumeClaimForAllNamespaces()),
    k8s.makeInformer(kc, '/api/v1/persistentvolumes', () => core.listPersistentVolume()),
  ] as k8s.Informer<k8s.KubernetesObject>[];
  for (const informer of informers) {
    for (const verb of [k8s.ADD, k8s.UPDATE, k8s.DELETE] as const) informer.on(verb, kick);
    // The informer stops on an error (e.g. a watch cut by an apiserver restart): start it again.
    informer.on(k8s.ERROR, () => {
      if (!stopped) setTimeout(() => void (stopped ? undefined : informer.start().catch(() => undefined)), 500);
    });
  }
  await Promise.all(informers.map((i) => i.start()));
  const timer = setInterval(kick, opts.resyncMs ?? 2000);
  timer.unref();
  kick();
  await running;

  return {
    className,
    provisioner: PROVISIONER,
    root,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(informers.map((i) => i.stop()));
      await running;
    },
  };
}
