// Real pods: the redis-ha stack as synthesized with the local images (STACK_CONFIG from
// stackConfigFor; test/support/node-cluster.ts) and applied with kubectl into a namespace that
// enforces Pod Security "restricted" on the shared node tier — 3 pods of Redis + Sentinel
// from the StatefulSet's own scripts and config, 2 HAProxy pods from the Deployment's config,
// names served by CoreDNS, the Services by kube-proxy, probes run by the kubelet. Faults are
// injected from the node: the master's Redis frozen (SIGSTOP) and later killed, pods
// deleted (the StatefulSet recreates them with new addresses), and the master's pod cut off
// the network. Measures the failover.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { ImageSet } from '../../cluster/images';
import { restrictedContainerSpec, restrictedPodSpec } from '../../constructs/hardening';
import { loadDist } from '../support/dist';
import { acquireNodeCluster, archives, localImages, synthesizeLocal, type NodeCluster } from '../support/node-cluster';
import { createTestNamespace, type TestNamespace } from '../support/shared';
import {
  apply,
  cli,
  containerPid,
  containerStatus,
  crash,
  exec,
  inNamespace,
  info,
  logs,
  partition,
  passwordSecretRef,
  pipeline,
  podReady,
  provideVolumes,
  readPod,
  restarts,
  waitLinkUp,
  type PodRef,
  tearDownRun,
} from '../support/redis-pods';
import { sleep, waitFor } from '../support/wait';

jest.setTimeout(180_000);

const AUTH = { authEnv: 'REDIS_PASSWORD' };
const log = (m: string) => process.stdout.write(`redis-ha: ${m}\n`);

describe('redis-ha on a real node: Redis, Sentinel and HAProxy pods', () => {
  let images: ImageSet;
  let dist: string;
  let cluster: NodeCluster;
  let ns: TestNamespace;
  let volumes: { cleanup(): Promise<void> } | undefined;
  let objs: any[];
  let sts: any;
  const servers: PodRef[] = [];
  let client: PodRef;
  let masterSet: string;
  let fqdn: (i: number) => string;
  let masterEndpoint: string;
  let sentinelEndpoint: string;
  let downAfter: number;
  let failoverTimeout: number;
  const figures: Record<string, number | string> = {};

  const dump = async () => {
    for (const p of servers)
      for (const c of ['redis', 'sentinel'])
        log(`==== ${p.name}/${c}\n${(await logs(p, c)).split('\n').slice(-30).join('\n')}`);
  };

  // Through the stable endpoint (the HAProxy Service), like a client that knows nothing about Sentinel.
  const viaMaster = (args: string[]) => cli(client, args, { ...AUTH, container: 'client', host: masterEndpoint });
  // Like a Sentinel-aware client: the Sentinel Service first, then each Sentinel by name
  // (behind a partition the Service's first address may not answer).
  const sentinelMaster = async () => {
    let last: unknown;
    for (const host of [sentinelEndpoint, ...servers.map((_, i) => fqdn(i))]) {
      try {
        const args = ['--raw', 'sentinel', 'get-master-addr-by-name', masterSet];
        const m = (await cli(client, args, { ...AUTH, container: 'client', host, port: 26379, timeoutMs: 3000 })).split(
          '\n',
        )[0];
        if (m) return m;
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no Sentinel answered');
  };
  const sentinelCli = (p: PodRef, args: string[]) => cli(p, args, { ...AUTH, container: 'sentinel', port: 26379 });
  const byName = (host: string) => servers.find((p) => host.startsWith(`${p.name}.`))!;

  /** Every Sentinel reports `master`, knows 2 replicas (neither down) and 2 other Sentinels. */
  const sentinelsConverged = (master: string, timeoutMs = 60_000) =>
    waitFor(
      `every Sentinel to agree on ${master} with 2 replicas and 2 other Sentinels`,
      async () => {
        for (const p of servers) {
          const kv = (await sentinelCli(p, ['sentinel', 'master', masterSet])).split('\n');
          const get = (k: string) => kv[kv.indexOf(k) + 1];
          if (get('ip') !== master || get('num-slaves') !== '2' || get('num-other-sentinels') !== '2') return false;
          const r = (await sentinelCli(p, ['sentinel', 'replicas', masterSet])).split('\n');
          const flags = r.flatMap((l, i) => (l === 'flags' ? [r[i + 1]] : []));
          if (flags.length !== 2 || !flags.every((f) => f === 'slave')) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 1000 },
    );

  /** A new pod (other uid than `old`) with `container` running. */
  const recreated = (p: PodRef, old: k8s.V1Pod, container = 'redis') =>
    waitFor(
      `${p.name} recreated`,
      async () => {
        const now = await readPod(p).catch(() => undefined);
        return now && now.metadata?.uid !== old.metadata?.uid && containerStatus(now, container)?.state?.running
          ? now
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );

  beforeAll(async () => {
    // the lease first: the tier a previous suite left running stays up while images are checked
    cluster = await acquireNodeCluster('redis-ha-failover');
    images = await localImages();
    dist = synthesizeLocal(images);
    await cluster.loadImages(archives(images, ['redis', 'haproxy']));
    objs = loadDist('redis-ha', dist);
    sts = objs.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.template.spec.containers.map((c: any) => c.image)).toEqual([images.redis.ref, images.redis.ref]);
    expect(objs.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].image).toBe(images.haproxy.ref);
    const env = Object.fromEntries(
      sts.spec.template.spec.containers[0].env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]),
    );
    masterSet = env.MASTER_SET;
    const configMap = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === sts.metadata.name);
    const sentinelConf: string = configMap.data['sentinel-start.sh'];
    downAfter = Number(/down-after-milliseconds \S+ (\d+)/.exec(sentinelConf)![1]);
    failoverTimeout = Number(/failover-timeout \S+ (\d+)/.exec(sentinelConf)![1]);

    ns = await createTestNamespace('redis-ha', { kubeConfig: cluster.kubeConfig() });
    const domain = /\.svc\.(.+)$/.exec(env.HEADLESS_DOMAIN)![1];
    fqdn = (i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}.${ns.name}.svc.${domain}`;
    masterEndpoint = `${sts.metadata.name}-master.${ns.name}.svc.${domain}`;
    sentinelEndpoint = `${sts.metadata.name}-sentinel.${ns.name}.svc.${domain}`;
    for (let i = 0; i < sts.spec.replicas; i++)
      servers.push({ cluster, namespace: ns.name, name: `${sts.metadata.name}-${i}` });
    client = { cluster, namespace: ns.name, name: 'client' };
    // The Secret the user creates (a test-only random password), and volumes for the claims.
    const ref = passwordSecretRef(sts);
    await cluster
      .kubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedSecret({
        namespace: ns.name,
        body: { metadata: { name: ref.name }, stringData: { [ref.key]: randomBytes(24).toString('hex') } },
      });
    volumes = await provideVolumes(cluster, ns.name, sts, sts.spec.replicas);
  }, 1_800_000);

  afterAll(async () => {
    if (process.env.REDIS_HARNESS_LOGS && servers.length) await dump();
    log(`figures (ms): ${JSON.stringify(figures)}`);
    await tearDownRun({ cluster, ns, volumes, dist });
  }, 180_000);

  const check = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      await dump();
      throw e;
    }
  };

  test(
    'all pods start: one master, linked replicas, Sentinels in agreement, HAProxy on the master',
    () =>
      check(async () => {
        const t0 = Date.now();
        // Everything at once, as `kubectl apply -f` does: HAProxy must cope with Redis names
        // that do not resolve yet, Redis and Sentinel with peers that are not up yet.
        await apply(cluster, inNamespace(objs, ns.name));
        const secretRef = passwordSecretRef(sts);
        await cluster
          .kubeConfig()
          .makeApiClient(k8s.CoreV1Api)
          .createNamespacedPod({
            namespace: ns.name,
            body: {
              metadata: { name: client.name, labels: { [`${sts.metadata.name}-client`]: 'true' } },
              spec: {
                securityContext: restrictedPodSpec(999),
                terminationGracePeriodSeconds: 1,
                containers: [
                  {
                    name: 'client',
                    image: images.redis.ref,
                    imagePullPolicy: 'Never',
                    command: ['sleep', 'infinity'],
                    env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: secretRef } }],
                    securityContext: restrictedContainerSpec(999),
                  },
                ],
              },
            },
          });

        for (const r of servers.slice(1)) await waitLinkUp(r, 180_000, AUTH);
        expect((await info(servers[0], 'replication', AUTH)).role).toBe('master');
        figures.applyToLinked = Date.now() - t0;
        await sentinelsConverged(fqdn(0), 120_000);
        await waitFor('client pod running', async () => !!containerStatus(await readPod(client), 'client')?.ready, {
          timeoutMs: 60_000,
          intervalMs: 500,
        });
        expect(await sentinelMaster()).toBe(fqdn(0));
        // the kubelet's readiness probes of both containers pass
        await waitFor('every Redis pod Ready', async () => (await Promise.all(servers.map(podReady))).every(Boolean), {
          timeoutMs: 90_000,
          intervalMs: 1000,
        });
        for (const p of servers) {
          expect((await restarts(p, 'redis')) + (await restarts(p, 'sentinel'))).toBe(0);
          expect((await readPod(p)).spec?.nodeName).toBe(cluster.nodeName);
        }
        // HAProxy sends clients to the master, identified by its announced host name.
        await waitFor(
          'HAProxy routes to the master',
          async () => (await viaMaster(['config', 'get', 'replica-announce-ip'])).endsWith(fqdn(0)),
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        figures.applyToServing = Date.now() - t0;
        // Unauthenticated clients are refused.
        const r = await exec(client, 'client', ['redis-cli', '-h', masterEndpoint, 'set', 'a', 'b']);
        expect(r.stdout + r.stderr).toMatch(/NOAUTH/);
      }),
    420_000,
  );

  const acked: string[] = [];

  test(
    'writes through the stable endpoint are acknowledged by the replicas (WAIT)',
    () =>
      check(async () => {
        for (let n = 0; n < 20; n++) {
          const [set, wait] = await pipeline(
            client,
            [
              ['SET', `acked:${n}`, `v${n}`],
              ['WAIT', '2', '2000'],
            ],
            { ...AUTH, container: 'client', host: masterEndpoint },
          );
          expect(set).toBe('OK');
          expect(wait).toBe('2');
          acked.push(`acked:${n}`);
        }
        for (const r of servers.slice(1)) expect(await cli(r, ['get', 'acked:19'], AUTH)).toBe('v19');
      }),
    120_000,
  );

  test(
    "the master's Redis hangs (SIGSTOP from the node): a replica is promoted within the configured timeouts and the endpoint follows",
    () =>
      check(async () => {
        const old = servers[0];
        const t0 = Date.now();
        process.kill(await containerPid(old, 'redis'), 'SIGSTOP');
        let promotedAt = 0;
        let newMaster = '';
        let writableAt = 0;
        const deadline = t0 + downAfter + failoverTimeout;
        while (Date.now() < deadline && (!promotedAt || !writableAt)) {
          if (!promotedAt) {
            const m = await sentinelMaster().catch(() => '');
            if (m && m !== fqdn(0)) {
              promotedAt = Date.now() - t0;
              newMaster = m;
            }
          }
          if (!writableAt) {
            const r = await viaMaster(['set', 'after-failover', 'yes']).catch((e) => String(e));
            if (r === 'OK') writableAt = Date.now() - t0;
          }
          await sleep(100);
        }
        figures.hangToPromoted = promotedAt;
        figures.hangToWritableViaEndpoint = writableAt;
        log(
          `failover: master hung -> Sentinels report ${newMaster} after ${promotedAt} ms; writes through ${masterEndpoint} work again after ${writableAt} ms (down-after ${downAfter} ms, failover-timeout ${failoverTimeout} ms)`,
        );
        expect(promotedAt).toBeGreaterThan(0);
        expect(writableAt).toBeGreaterThan(0);
        expect(promotedAt).toBeLessThan(downAfter + failoverTimeout);
        expect([fqdn(1), fqdn(2)]).toContain(newMaster);
        const promoted = byName(newMaster);
        expect((await info(promoted, 'replication', AUTH)).role).toBe('master');
        // The endpoint now reaches the new master.
        expect(await viaMaster(['config', 'get', 'replica-announce-ip'])).toContain(newMaster);
        // Every write a replica acknowledged before the failure survived it.
        for (const k of acked) expect(await viaMaster(['get', k])).toBe(`v${k.split(':')[1]}`);
        // The other replica follows the new master.
        const other = servers.find((p, i) => i > 0 && p !== promoted)!;
        await waitFor(
          `${other.name} follows ${newMaster}`,
          async () => {
            const i = await info(other, 'replication', AUTH);
            return i.master_host === newMaster && i.master_link_status === 'up';
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        expect(await cli(other, ['get', 'after-failover'], AUTH)).toBe('yes');
        // While there was no master, the replicas stayed alive for the kubelet (liveness probes).
        for (const p of servers.slice(1)) expect(await restarts(p, 'redis')).toBe(0);
      }),
    240_000,
  );

  test(
    'the hung old master is killed, restarted by the kubelet, and comes back as a replica of the new master, with the data',
    () =>
      check(async () => {
        const old = servers[0];
        const t0 = Date.now();
        // SIGKILL ends a stopped process too; the kubelet restarts the container
        await crash(old, 'redis');
        const newMaster = await sentinelMaster();
        const i = await waitLinkUp(old, 90_000, AUTH);
        figures.oldMasterKilledToLinked = Date.now() - t0;
        expect(i.master_host).toBe(newMaster);
        expect(await logs(old, 'redis')).toContain(`starting as replica of ${newMaster}`);
        for (const k of acked) expect(await cli(old, ['get', k], AUTH)).toBe(`v${k.split(':')[1]}`);
        expect(await cli(old, ['get', 'after-failover'], AUTH)).toBe('yes');
        // HAProxy never sends clients to it: still the new master behind the endpoint.
        for (let n = 0; n < 5; n++)
          expect(await viaMaster(['config', 'get', 'replica-announce-ip'])).toContain(newMaster);
        await waitFor(
          'Sentinels list the old master as a replica again',
          async () => {
            const lines = (await sentinelCli(old, ['sentinel', 'replicas', masterSet])).split('\n');
            // Flat key/value lines per replica: take each replica's "name" and "flags".
            const names = lines.flatMap((l, n) => (l === 'name' ? [lines[n + 1]] : []));
            const flags = lines.flatMap((l, n) => (l === 'flags' ? [lines[n + 1]] : []));
            return names.includes(`${fqdn(0)}:6379`) && flags.length === 2 && flags.every((f) => f === 'slave');
          },
          { timeoutMs: 60_000, intervalMs: 1000 },
        );
      }),
    240_000,
  );

  test(
    'a deleted replica pod is recreated by the StatefulSet with a new IP and rejoins by name',
    () =>
      check(async () => {
        const newMaster = await sentinelMaster();
        const victim = servers.find((p) => !newMaster.startsWith(`${p.name}.`))!;
        const before = await readPod(victim);
        const t0 = Date.now();
        await cluster.kubectlOk(['delete', 'pod', '-n', ns.name, victim.name]);
        // A new pod: new containers, new (empty) emptyDirs, so Sentinel starts without its
        // state and asks its peers; same PVC.
        const after = await recreated(victim, before, 'sentinel');
        expect(after.status?.podIP).not.toBe(before.status?.podIP);
        await waitLinkUp(victim, 90_000, AUTH);
        figures.deletedReplicaToLinked = Date.now() - t0;
        expect(await logs(victim, 'sentinel')).toContain('monitoring');
        const [set, wait] = await pipeline(
          client,
          [
            ['SET', 'after-recreate', 'ok'],
            ['WAIT', '2', '5000'],
          ],
          { ...AUTH, container: 'client', host: masterEndpoint },
        );
        expect(set).toBe('OK');
        expect(wait).toBe('2');
        expect(await cli(victim, ['get', 'after-recreate'], AUTH)).toBe('ok');
      }),
    240_000,
  );

  test(
    'the master pod is deleted (SIGTERM) and recreated with a new IP: writes work again, it is relinked or promoted, acknowledged writes kept',
    () =>
      check(async () => {
        const oldName = await sentinelMaster();
        const old = byName(oldName);
        // The previous test recreated a pod (fresh Sentinel): let the Sentinels learn every
        // replica first (see docs/redis.md, "A Sentinel only moves the replicas it knows").
        await sentinelsConverged(oldName);
        const [set, wait] = await pipeline(
          client,
          [
            ['SET', 'before-delete', 'kept'],
            ['WAIT', '2', '5000'],
          ],
          { ...AUTH, container: 'client', host: masterEndpoint },
        );
        expect([set, wait]).toEqual(['OK', '2']);
        const before = await readPod(old);
        const t0 = Date.now();
        // Deletion: both containers get SIGTERM (Redis shuts down cleanly), the name leaves
        // DNS; the StatefulSet makes a new pod with the same name and claim at once.
        await cluster.kubectlOk(['delete', 'pod', '--wait=false', '-n', ns.name, old.name]);
        let writableAt = 0;
        while (!writableAt && Date.now() - t0 < downAfter + failoverTimeout) {
          const r = await viaMaster(['set', 'after-delete', 'yes']).catch((e) => String(e));
          if (r === 'OK') writableAt = Date.now() - t0;
          else await sleep(100);
        }
        figures.masterDeletedToWritable = writableAt;
        expect(writableAt).toBeGreaterThan(0);
        const after = await recreated(old, before);
        expect(after.status?.podIP).not.toBe(before.status?.podIP);
        // Settled: the three Sentinels agree on one master, the two others are linked to it.
        const newName = await waitFor(
          'all three Sentinels agree, the two other Redis linked to that master',
          async () => {
            const ms = new Set<string>();
            for (const p of servers) {
              ms.add(
                (await sentinelCli(p, ['--raw', 'sentinel', 'get-master-addr-by-name', masterSet])).split('\n')[0],
              );
            }
            if (ms.size !== 1) return undefined;
            const [m] = [...ms];
            for (const p of servers.filter((s) => s !== byName(m))) {
              const i = await info(p, 'replication', AUTH);
              if (i.master_host !== m || i.master_link_status !== 'up') return undefined;
            }
            return m;
          },
          { timeoutMs: 120_000, intervalMs: 1000 },
        );
        figures.masterDeletedToSettled = Date.now() - t0;
        figures.masterDeletedOutcome = newName === oldName ? 'recreated pod is master again' : 'replica promoted';
        log(`master pod deleted: ${figures.masterDeletedOutcome} (${oldName} -> ${newName})`);
        // It starts as what the Sentinels reported when it came up: itself when they had not
        // failed over yet (then it stays master, or is demoted once they do), else the new master.
        const startLine = (await logs(old, 'redis')).match(/starting as (master \(\S+\)|replica of \S+)/)?.[0];
        figures.masterDeletedRecreatedPod = startLine ?? '';
        if (newName === oldName) expect(startLine).toBe(`starting as master (${oldName})`);
        else expect([`starting as replica of ${newName}`, `starting as master (${oldName})`]).toContain(startLine);
        expect(await logs(old, 'sentinel')).toMatch(/monitoring mymaster at \S+|restarting with the state/);
        // An acknowledged write after the event, then every acknowledged write everywhere.
        const [set2, wait2] = await pipeline(
          client,
          [
            ['SET', 'after-settled', 'yes'],
            ['WAIT', '2', '5000'],
          ],
          { ...AUTH, container: 'client', host: masterEndpoint },
        );
        expect([set2, wait2]).toEqual(['OK', '2']);
        for (const p of servers) {
          expect(await cli(p, ['get', 'before-delete'], AUTH)).toBe('kept');
          expect(await cli(p, ['get', 'after-settled'], AUTH)).toBe('yes');
        }
        for (const k of acked) expect(await viaMaster(['get', k])).toBe(`v${k.split(':')[1]}`);
      }),
    300_000,
  );

  test(
    'a partitioned master accepts writes only until min-replicas-max-lag; they are lost when it rejoins',
    () =>
      check(async () => {
        const oldName = await sentinelMaster();
        const old = byName(oldName);
        // Start from a settled state: a Sentinel only reconfigures replicas it knows about
        // (it learns them from the master's INFO every 10 s).
        await sentinelsConverged(oldName);
        const configMap = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === sts.metadata.name);
        const maxLag = Number(/min-replicas-max-lag (\d+)/.exec(configMap.data['redis.conf'])![1]);
        // Cut the master's pod (Redis and its Sentinel) off; a client inside it keeps writing.
        const t0 = Date.now();
        await partition(old, 'redis', true);
        const accepted: string[] = [];
        let refusedAt = 0;
        let lastError = '';
        try {
          for (let n = 0; Date.now() - t0 < (maxLag + 10) * 1000; n++) {
            const r = await cli(old, ['set', `partitioned:${n}`, 'x'], AUTH).catch((e) => String(e));
            if (r === 'OK') accepted.push(`partitioned:${n}`);
            else {
              lastError = r;
              refusedAt = Date.now() - t0;
              break;
            }
            await sleep(200);
          }
          figures.partitionedMasterAcceptedWritesFor = refusedAt;
          log(
            `partition: the cut-off master accepted ${accepted.length} writes for ${refusedAt} ms, then refused (${lastError.trim()})`,
          );
          expect(lastError).toMatch(/NOREPLICAS/);
          expect(refusedAt).toBeGreaterThan((maxLag - 1) * 1000);
          expect(refusedAt).toBeLessThan((maxLag + 5) * 1000);
          // Meanwhile the majority side promoted another replica and serves writes.
          const promoted = await waitFor(
            'a new master on the majority side',
            async () => {
              const m = await sentinelMaster().catch(() => '');
              return m && m !== oldName ? m : undefined;
            },
            { timeoutMs: downAfter + failoverTimeout, intervalMs: 500 },
          );
          await waitFor(
            'writes through the endpoint',
            async () => (await viaMaster(['set', 'majority-side', 'yes']).catch(() => '')) === 'OK',
            { timeoutMs: 30_000, intervalMs: 500 },
          );
          // Heal: the Sentinels turn the old master into a replica; what it accepted alone is gone.
          await partition(old, 'redis', false);
          const i = await waitFor(
            `${old.name} demoted to a replica of ${promoted}`,
            async () => {
              const r = await info(old, 'replication', AUTH);
              return r.role === 'slave' && r.master_host === promoted && r.master_link_status === 'up' ? r : undefined;
            },
            { timeoutMs: 90_000, intervalMs: 500 },
          );
          expect(i.role).toBe('slave');
        } finally {
          await partition(old, 'redis', false).catch(() => undefined);
        }
        figures.partitionWritesLost = accepted.length;
        expect(accepted.length).toBeGreaterThan(0);
        for (const k of accepted) expect(await viaMaster(['exists', k])).toBe('0');
        expect(await cli(old, ['get', 'majority-side'], AUTH)).toBe('yes');
        for (const k of acked) expect(await viaMaster(['get', k])).toBe(`v${k.split(':')[1]}`);
      }),
    300_000,
  );
});
