// Real pods: the redis-sfs StatefulSet as synthesized with the local images (STACK_CONFIG from
// stackConfigFor; test/support/node-cluster.ts) and applied with kubectl into a namespace that
// enforces Pod Security "restricted" on the shared node tier: the kubelet runs the containers
// under containerd with the manifest's own command, env, ConfigMap, Secret, probes, security
// context and a volume per claim; replicas find `redis-sfs-0.redis-sfs` through CoreDNS.
// Faults: a container killed from the node (a crash; the kubelet restarts it), the master pod
// gone for a while, and the master pod deleted and recreated by the StatefulSet (a new IP).
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { ImageSet } from '../../cluster/images';
import { loadDist } from '../support/dist';
import { acquireNodeCluster, archives, localImages, synthesizeLocal, type NodeCluster } from '../support/node-cluster';
import { createTestNamespace, type TestNamespace } from '../support/shared';
import {
  apply,
  cli as rawCli,
  containerStatus,
  crash,
  inNamespace,
  info as rawInfo,
  logs,
  passwordSecretRef,
  podReady,
  provideVolumes,
  readPod,
  readyEndpoints,
  restarts,
  setAndWait as rawSetAndWait,
  waitLinkUp as rawWaitLinkUp,
  type CliOptions,
  type PodRef,
  tearDownRun,
} from '../support/redis-pods';
import { sleep, waitFor } from '../support/wait';

jest.setTimeout(180_000);

// Linking needs one full sync; Redis 7 delays a diskless sync by 5 s (repl-diskless-sync-delay).
const LINK_TIMEOUT = 45_000;
// One more ordinal than a replica pair, so "every replica" means more than one.
const ORDINALS = 3;

// Every command authenticates with the password from the pod's environment (the Secret).
const AUTH: CliOptions = { authEnv: 'REDIS_PASSWORD' };
const cli = (p: PodRef, args: string[], o: CliOptions = {}) => rawCli(p, args, { ...AUTH, ...o });
const info = (p: PodRef, section: string) => rawInfo(p, section, AUTH);
const setAndWait = (p: PodRef, k: string, v: string, n: number, ms: number) => rawSetAndWait(p, k, v, n, ms, AUTH);
const waitLinkUp = (p: PodRef, ms: number) => rawWaitLinkUp(p, ms, AUTH);
const log = (m: string) => process.stdout.write(`redis-statefulset: ${m}\n`);

describe('redis-sfs StatefulSet on a real node', () => {
  let images: ImageSet;
  let dist: string;
  let cluster: NodeCluster;
  let ns: TestNamespace;
  let volumes: { cleanup(): Promise<void> } | undefined;
  let sts: any;
  let objs: any[];
  const pods: PodRef[] = [];
  const master = () => pods[0];
  const replicas = () => pods.slice(1);
  const figures: Record<string, number> = {};

  /** The StatefulSet's ordinals: `start` .. `start + count - 1` (spec.ordinals.start, GA since 1.31). */
  async function setOrdinals(start: number, count: number) {
    const patch = JSON.stringify({ spec: { ordinals: { start }, replicas: count } });
    await cluster.kubectlOk(['patch', 'statefulset', '-n', ns.name, sts.metadata.name, '--type=merge', '-p', patch]);
  }

  const dump = async () => {
    for (const p of pods) log(`==== ${p.name}\n${(await logs(p)).split('\n').slice(-25).join('\n')}`);
  };

  beforeAll(async () => {
    // the lease first: the tier a previous suite left running stays up while images are checked
    cluster = await acquireNodeCluster('redis-statefulset');
    images = await localImages();
    dist = synthesizeLocal(images);
    await cluster.loadImages(archives(images, ['redis']));
    objs = loadDist('redis-statefulset', dist);
    sts = objs.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.template.spec.containers[0].image).toBe(images.redis.ref);
    ns = await createTestNamespace('redis-sfs', { kubeConfig: cluster.kubeConfig() });
    for (let i = 0; i < ORDINALS; i++) pods.push({ cluster, namespace: ns.name, name: `${sts.metadata.name}-${i}` });
    // What the user does once (docs/redis.md): the Secret with the password.
    const ref = passwordSecretRef(sts);
    await cluster
      .kubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedSecret({
        namespace: ns.name,
        body: { metadata: { name: ref.name }, stringData: { [ref.key]: randomBytes(24).toString('hex') } },
      });
    volumes = await provideVolumes(cluster, ns.name, sts, ORDINALS);
  }, 1_800_000);

  afterEach(async () => {
    const state = expect.getState();
    if (state.assertionCalls > state.numPassingAsserts || process.env.REDIS_HARNESS_LOGS) await dump();
  });

  afterAll(async () => {
    log(`figures (ms): ${JSON.stringify(figures)}`);
    await tearDownRun({ cluster, ns, volumes, dist });
  }, 180_000);

  test('replicas started before their master name resolves keep retrying, then join', async () => {
    // The synthesized objects, with the StatefulSet's ordinals starting at 1: pods 1 and 2
    // exist, pod 0 does not, so its DNS name does not resolve yet.
    const t0 = Date.now();
    const first = inNamespace(objs, ns.name).map((o) =>
      o.kind === 'StatefulSet' ? { ...o, spec: { ...o.spec, replicas: ORDINALS - 1, ordinals: { start: 1 } } } : o,
    );
    await apply(cluster, first);
    for (const r of replicas()) {
      await waitFor(`${r.name} running`, async () => !!containerStatus(await readPod(r), 'redis')?.state?.running, {
        timeoutMs: 120_000,
        intervalMs: 500,
      });
    }
    await waitFor(
      'replicas trying to reach their master',
      async () => (await logs(replicas()[0])).match(/Connecting to MASTER redis-sfs-0\.redis-sfs\./),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // Long enough for several readiness probes (every 5 s) and a liveness probe (every 10 s).
    await sleep(12_000);
    for (const r of replicas()) {
      expect(await restarts(r)).toBe(0);
      const i = await info(r, 'replication');
      expect(i.role).toBe('slave');
      expect(i.master_link_status).toBe('down');
      // Alive (not restarted by the kubelet) but not Ready while the master is missing.
      expect(await podReady(r)).toBe(false);
    }
    expect(await logs(replicas()[0])).toMatch(/Connecting to MASTER redis-sfs-0\.redis-sfs\./);
    // Never synced since they started (their data may be empty): not in the read Service.
    expect(await readyEndpoints(cluster, ns.name, `${sts.metadata.name}-read`)).toEqual([]);

    // Now the synthesized StatefulSet as it is (ordinals from 0), one more pod than its replicas.
    await setOrdinals(0, ORDINALS);
    for (const r of replicas()) await waitLinkUp(r, LINK_TIMEOUT + 60_000);
    figures.masterCreatedToLinked = Date.now() - t0;
    expect((await info(master(), 'replication')).connected_slaves).toBe(String(ORDINALS - 1));
    await waitFor('every pod Ready', async () => (await Promise.all(pods.map(podReady))).every(Boolean), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    for (const p of pods) expect(await restarts(p)).toBe(0);
    // replicas reach their master by the name CoreDNS serves for it
    const master0 = await readPod(master());
    for (const r of replicas()) {
      const i = await info(r, 'replication');
      expect(i.master_host).toBe(`${sts.metadata.name}-0.${sts.spec.serviceName}.${ns.name}.svc.cluster.local`);
    }
    expect(master0.spec?.nodeName).toBe(cluster.nodeName);
  }, 300_000);

  test('without the password every pod refuses commands', async () => {
    for (const p of pods) {
      expect(await rawCli(p, ['get', 'greeting'])).toMatch(/NOAUTH/);
      expect(await rawCli(p, ['set', 'x', '1'])).toMatch(/NOAUTH/);
      expect(await cli(p, ['ping'])).toBe('PONG');
    }
  });

  test('a key written on the master is read on every replica', async () => {
    // WAIT (same connection as the write) returns how many replicas acknowledged it.
    expect(await setAndWait(master(), 'greeting', 'hello', ORDINALS - 1, 5000)).toBe(ORDINALS - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'greeting'])).toBe('hello');
      // Replicas are read-only.
      expect(await cli(r, ['set', 'x', '1'])).toMatch(/READONLY/);
    }
  });

  test('a crashed replica is restarted by the kubelet, rejoins and catches up', async () => {
    const r = replicas()[0];
    await crash(r, 'redis');
    expect(await cli(master(), ['set', 'while-replica-down', 'v1'])).toBe('OK');
    await waitLinkUp(r, LINK_TIMEOUT);
    expect(await restarts(r)).toBe(1);
    expect(await cli(r, ['get', 'while-replica-down'])).toBe('v1');
    expect(await cli(r, ['get', 'greeting'])).toBe('hello');
  });

  test('a crashed master restarts with its data (append-only file on its volume) and the replicas relink', async () => {
    expect(await cli(master(), ['set', 'before-master-crash', 'kept'])).toBe('OK');
    await sleep(1500); // appendfsync everysec
    await crash(master(), 'redis');
    for (const r of replicas()) await waitLinkUp(r, LINK_TIMEOUT);
    expect(await cli(master(), ['get', 'before-master-crash'])).toBe('kept');
    expect(await setAndWait(master(), 'after-master-crash', 'v2', ORDINALS - 1, 5000)).toBe(ORDINALS - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'before-master-crash'])).toBe('kept');
      expect(await cli(r, ['get', 'after-master-crash'])).toBe('v2');
    }
    expect(await restarts(master())).toBe(1);
  });

  test('replicas stay alive and in the read Service while the master pod is gone, and rejoin the new one', async () => {
    expect(await setAndWait(master(), 'before-master-gone', 'kept', ORDINALS - 1, 5000)).toBe(ORDINALS - 1);
    const readService = `${sts.metadata.name}-read`;
    expect(await readyEndpoints(cluster, ns.name, readService)).toEqual(pods.map((p) => p.name).sort());
    const restartsBefore = await Promise.all(replicas().map((r) => restarts(r)));
    const oldIp = (await readPod(master())).status?.podIP;
    // Pod 0 goes (its ordinal leaves the StatefulSet): deleted, its name leaves DNS.
    await setOrdinals(1, ORDINALS - 1);
    await waitFor(
      `${master().name} gone`,
      async () => {
        try {
          await readPod(master());
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const r of replicas()) {
      await waitFor(
        `${r.name} notices the master is gone`,
        async () => (await info(r, 'replication')).master_link_status === 'down',
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    }
    // Down for a while (several readiness and liveness periods): no restart, still Ready
    // (replicas serve possibly stale data), so the read Service keeps every replica and reads
    // through it (its ClusterIP, by name, through kube-proxy) keep working.
    const expected = replicas()
      .map((p) => p.name)
      .sort();
    for (let n = 0; n < 3; n++) {
      expect(await readyEndpoints(cluster, ns.name, readService)).toEqual(expected);
      for (const r of replicas()) {
        expect(await podReady(r)).toBe(true);
        expect(await cli(r, ['get', 'greeting'], { host: readService })).toBe('hello');
        expect(await cli(r, ['get', 'before-master-gone'], { host: readService })).toBe('kept');
        // Still read-only: writes need the master.
        expect(await cli(r, ['set', 'x', '1'], { host: readService })).toMatch(/READONLY/);
      }
      // and every endpoint by its address, from another pod
      for (const r of replicas()) {
        const client = replicas().find((p) => p !== r)!;
        const ip = (await readPod(r)).status!.podIP!;
        expect(await cli(client, ['get', 'greeting'], { host: ip })).toBe('hello');
        expect(await cli(client, ['get', 'before-master-gone'], { host: ip })).toBe('kept');
      }
      await sleep(3000);
    }
    expect(await Promise.all(replicas().map((r) => restarts(r)))).toEqual(restartsBefore);
    // Pod 0 back: a new pod, its claim's volume as before.
    const t0 = Date.now();
    await setOrdinals(0, ORDINALS);
    for (const r of replicas()) await waitLinkUp(r, LINK_TIMEOUT + 60_000);
    figures.masterRecreatedToLinked = Date.now() - t0;
    log(
      `master pod recreated (IP ${oldIp} -> ${(await readPod(master())).status?.podIP}): replicas relinked after ${figures.masterRecreatedToLinked} ms`,
    );
    // The master reloaded its data from the append-only file on its volume, so the resync
    // did not wipe the replicas.
    expect(await cli(master(), ['get', 'before-master-gone'])).toBe('kept');
    expect(await setAndWait(master(), 'after-master-back', 'v3', ORDINALS - 1, 5000)).toBe(ORDINALS - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'before-master-gone'])).toBe('kept');
      expect(await cli(r, ['get', 'after-master-back'])).toBe('v3');
    }
    expect(await Promise.all(replicas().map((r) => restarts(r)))).toEqual(restartsBefore);
  }, 300_000);

  test('the master pod deleted: the StatefulSet recreates it with a new IP, found again by name; acknowledged writes kept', async () => {
    expect(await setAndWait(master(), 'before-delete', 'kept', ORDINALS - 1, 5000)).toBe(ORDINALS - 1);
    const old = await readPod(master());
    const t0 = Date.now();
    await cluster.kubectlOk(['delete', 'pod', '-n', ns.name, master().name]);
    const recreated = await waitFor(
      'a new pod 0 running',
      async () => {
        const p = await readPod(master()).catch(() => undefined);
        return p && p.metadata?.uid !== old.metadata?.uid && containerStatus(p, 'redis')?.state?.running
          ? p
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const r of replicas()) await waitLinkUp(r, LINK_TIMEOUT + 60_000);
    figures.masterDeletedToLinked = Date.now() - t0;
    log(
      `master pod deleted (IP ${old.status?.podIP} -> ${recreated.status?.podIP}): replicas relinked after ${figures.masterDeletedToLinked} ms`,
    );
    expect(recreated.status?.podIP).not.toBe(old.status?.podIP);
    expect(await setAndWait(master(), 'after-delete', 'v4', ORDINALS - 1, 5000)).toBe(ORDINALS - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'before-delete'])).toBe('kept');
      expect(await cli(r, ['get', 'after-delete'])).toBe('v4');
      expect(await cli(r, ['get', 'greeting'])).toBe('hello');
      expect(await cli(r, ['get', 'after-master-back'])).toBe('v3');
    }
  }, 240_000);
});
