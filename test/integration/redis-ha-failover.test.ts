// Real processes: the redis-ha stack as synthesized in dist/redis-ha.k8s.yaml — 3 pods of
// Redis + Sentinel from the StatefulSet's own scripts and config, 2 HAProxy pods from the
// Deployment's config, cluster DNS served by dnsmasq — each in its own namespaces
// (test/support/pod-runner.ts). Kill the master and measure the failover.
import { randomBytes } from 'node:crypto';
import { restrictedContainerSpec, restrictedPodSpec } from '../../constructs/hardening';
import { FakeCluster, FakePod } from '../support/pod-runner';
import { configMaps, find, redisHaManifests, startStatefulSetPod } from '../support/redis-manifests';
import { cli, info, pipeline, waitLinkUp } from '../support/redis-cli';
import { realProcessPrereqs } from '../support/sys';
import { sleep, waitFor } from '../support/wait';

const pre = realProcessPrereqs(['redis-sentinel', 'haproxy', 'dnsmasq']);
const d = pre.ok ? describe : describe.skip;
if (!pre.ok) console.warn(`redis-ha real-process tests skipped: ${pre.reason}`);

const AUTH = { authEnv: 'REDIS_PASSWORD' };

d('redis-ha with real redis-server, redis-sentinel and haproxy processes', () => {
  let objs: any[];
  let sts: any;
  let cluster: FakeCluster;
  const servers: FakePod[] = [];
  const proxies: FakePod[] = [];
  let client: FakePod;
  let masterSet: string;
  let fqdn: (i: number) => string;
  let masterEndpoint: string;
  let sentinelEndpoint: string;
  let downAfter: number;
  let failoverTimeout: number;
  const figures: Record<string, number> = {};

  const dump = () =>
    [
      ...servers.flatMap((p) => ['redis', 'sentinel'].map((c) => [p, c] as const)),
      ...proxies.map((p) => [p, 'haproxy'] as const),
    ]
      .map(([p, c]) => `==== ${p.opts.name}/${c}\n${p.logs(c).split('\n').slice(-30).join('\n')}`)
      .join('\n');

  // Through the stable endpoint, like a client that knows nothing about Sentinel.
  const viaMaster = (args: string[]) => cli(client, args, { ...AUTH, container: 'client', host: masterEndpoint });
  // Like a Sentinel-aware client: the Sentinel Service first, then each Sentinel by name
  // (behind a partition the Service's first address may not answer).
  const sentinelMaster = async () => {
    let last: unknown;
    for (const host of [sentinelEndpoint, ...servers.map((_, i) => fqdn(i))]) {
      try {
        const args = ['--raw', 'sentinel', 'get-master-addr-by-name', masterSet];
        const m = (await cli(client, args, { ...AUTH, container: 'client', host, port: 26379, timeoutMs: 2000 })).split(
          '\n',
        )[0];
        if (m) return m;
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no Sentinel answered');
  };

  /** Every Sentinel reports `master`, knows 2 replicas (neither down) and 2 other Sentinels. */
  const sentinelsConverged = (master: string, timeoutMs = 30_000) =>
    waitFor(
      `every Sentinel to agree on ${master} with 2 replicas and 2 other Sentinels`,
      async () => {
        for (const p of servers) {
          const kv = (
            await cli(p, ['sentinel', 'master', masterSet], { ...AUTH, container: 'sentinel', port: 26379 })
          ).split('\n');
          const get = (k: string) => kv[kv.indexOf(k) + 1];
          if (get('ip') !== master || get('num-slaves') !== '2' || get('num-other-sentinels') !== '2') return false;
          const r = (
            await cli(p, ['sentinel', 'replicas', masterSet], { ...AUTH, container: 'sentinel', port: 26379 })
          ).split('\n');
          const flags = r.flatMap((l, i) => (l === 'flags' ? [r[i + 1]] : []));
          if (flags.length !== 2 || !flags.every((f) => f === 'slave')) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 500 },
    );

  beforeAll(async () => {
    objs = redisHaManifests();
    sts = find(objs, 'StatefulSet');
    const ns = sts.metadata.namespace ?? 'default';
    const env = Object.fromEntries(
      sts.spec.template.spec.containers[0].env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]),
    );
    masterSet = env.MASTER_SET;
    const domain = /\.svc\.(.+)$/.exec(env.HEADLESS_DOMAIN)![1];
    const sentinelConf: string = configMaps(objs)[sts.metadata.name]['sentinel-start.sh'];
    downAfter = Number(/down-after-milliseconds \S+ (\d+)/.exec(sentinelConf)![1]);
    failoverTimeout = Number(/failover-timeout \S+ (\d+)/.exec(sentinelConf)![1]);
    const secretRef = sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'REDIS_PASSWORD').valueFrom
      .secretKeyRef;
    // The Secret the user creates (a test-only random password).
    const secrets = { [secretRef.name]: { [secretRef.key]: randomBytes(24).toString('hex') } };
    cluster = await FakeCluster.create({
      namespace: ns,
      clusterDomain: domain,
      configMaps: configMaps(objs),
      secrets,
      dns: true,
    });
    fqdn = (i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}.${ns}.svc.${domain}`;
    masterEndpoint = cluster.svcFqdn(`${sts.metadata.name}-master`);
    sentinelEndpoint = cluster.svcFqdn(`${sts.metadata.name}-sentinel`);
  }, 30_000);

  afterAll(async () => {
    if (process.env.REDIS_HARNESS_LOGS) console.log(dump());
    if (Object.keys(figures).length) console.log(`redis-ha figures (ms): ${JSON.stringify(figures)}`);
    await cluster?.destroy();
  }, 60_000);

  const check = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      console.log(dump());
      throw e;
    }
  };

  test(
    'all pods start: one master, linked replicas, Sentinels in agreement, HAProxy on the master',
    () =>
      check(async () => {
        const t0 = Date.now();
        // HAProxy first: it must cope with Redis names that do not resolve yet.
        const deploy = find(objs, 'Deployment', `${sts.metadata.name}-haproxy`);
        for (let i = 0; i < deploy.spec.replicas; i++) {
          proxies.push(await cluster.addPod({ name: `${deploy.metadata.name}-${i}`, spec: deploy.spec.template.spec }));
        }
        for (let i = 0; i < sts.spec.replicas; i++) servers.push(await startStatefulSetPod(cluster, sts, i));
        // The Services: ClusterIPs stand-ins resolve to the pods behind them.
        cluster.setRecord(
          masterEndpoint,
          proxies.map((p) => p.ip),
        );
        cluster.setRecord(
          sentinelEndpoint,
          servers.map((p) => p.ip),
        );
        client = await cluster.addPod({
          name: 'client',
          spec: {
            securityContext: restrictedPodSpec(999),
            containers: [
              {
                name: 'client',
                command: ['sleep', 'infinity'],
                env: [
                  {
                    name: 'REDIS_PASSWORD',
                    valueFrom: {
                      secretKeyRef: sts.spec.template.spec.containers[0].env.find(
                        (e: any) => e.name === 'REDIS_PASSWORD',
                      ).valueFrom.secretKeyRef,
                    },
                  },
                ],
                securityContext: restrictedContainerSpec(999),
              },
            ],
          },
        });

        for (const r of servers.slice(1)) await waitLinkUp(r, 30_000, AUTH);
        expect((await info(servers[0], 'replication', AUTH)).role).toBe('master');
        figures.startToLinked = Date.now() - t0;
        await sentinelsConverged(fqdn(0));
        expect(await sentinelMaster()).toBe(fqdn(0));
        for (const p of servers) {
          expect((await p.probe('sentinel', 'readiness')).ok).toBe(true);
          expect((await p.probe('redis', 'readiness')).ok).toBe(true);
          expect(p.restarts('redis') + p.restarts('sentinel')).toBe(0);
        }
        // HAProxy sends clients to the master, identified by its announced host name.
        await waitFor(
          'HAProxy routes to the master',
          async () => (await viaMaster(['config', 'get', 'replica-announce-ip'])).endsWith(fqdn(0)),
          { timeoutMs: 15_000, intervalMs: 250 },
        );
        figures.startToServing = Date.now() - t0;
        // Unauthenticated clients are refused.
        const r = await client.exec('client', ['redis-cli', '-h', masterEndpoint, 'set', 'a', 'b']);
        expect(r.stdout + r.stderr).toMatch(/NOAUTH/);
      }),
    90_000,
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
    30_000,
  );

  test(
    'kill the master: a replica is promoted within the configured timeouts and the endpoint follows',
    () =>
      check(async () => {
        const old = servers[0];
        // A writer through the stable endpoint, to see when writes work again.
        const t0 = Date.now();
        await old.signal('redis', 'SIGKILL', { restart: false });
        let promotedAt = 0;
        let newMaster = '';
        let writableAt = 0;
        let replicaProbeChecks = 0;
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
          // While there is no master, replicas stay alive for the kubelet.
          if (!promotedAt) {
            for (const r of servers.slice(1)) expect((await r.probe('redis', 'liveness')).ok).toBe(true);
            replicaProbeChecks++;
          }
          await sleep(100);
        }
        figures.killToPromoted = promotedAt;
        figures.killToWritableViaEndpoint = writableAt;
        console.log(
          `redis-ha failover: master killed → Sentinels report ${newMaster} after ${promotedAt} ms; writes through ${masterEndpoint} work again after ${writableAt} ms (down-after ${downAfter} ms, failover-timeout ${failoverTimeout} ms)`,
        );
        expect(promotedAt).toBeGreaterThan(0);
        expect(writableAt).toBeGreaterThan(0);
        expect(promotedAt).toBeLessThan(downAfter + failoverTimeout);
        expect(replicaProbeChecks).toBeGreaterThan(0);
        expect([fqdn(1), fqdn(2)]).toContain(newMaster);
        const promoted = servers[Number(newMaster.split('.')[0].split('-').pop())];
        expect((await info(promoted, 'replication', AUTH)).role).toBe('master');
        // The endpoint now reaches the new master.
        expect(await viaMaster(['config', 'get', 'replica-announce-ip'])).toContain(newMaster);
        // Every write a replica acknowledged before the failure survived it.
        for (const k of acked) expect(await viaMaster(['get', k])).toBe(`v${k.split(':')[1]}`);
        // The other replica follows the new master.
        const other = servers.find((p, i) => i > 0 && p !== promoted)!;
        await waitFor(
          `${other.opts.name} follows ${newMaster}`,
          async () => {
            const i = await info(other, 'replication', AUTH);
            return i.master_host === newMaster && i.master_link_status === 'up';
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        expect(await cli(other, ['get', 'after-failover'], AUTH)).toBe('yes');
        for (const p of servers.slice(1)) expect(p.restarts('redis')).toBe(0);
      }),
    150_000,
  );

  test(
    'the old master comes back as a replica of the new master, with the data',
    () =>
      check(async () => {
        const old = servers[0];
        const t0 = Date.now();
        await old.start('redis');
        const newMaster = await sentinelMaster();
        const i = await waitLinkUp(old, 60_000, AUTH);
        figures.oldMasterRestartToLinked = Date.now() - t0;
        expect(i.master_host).toBe(newMaster);
        expect(old.logs('redis')).toContain(`starting as replica of ${newMaster}`);
        for (const k of acked) expect(await cli(old, ['get', k], AUTH)).toBe(`v${k.split(':')[1]}`);
        expect(await cli(old, ['get', 'after-failover'], AUTH)).toBe('yes');
        // HAProxy never sends clients to it: still the new master behind the endpoint.
        for (let n = 0; n < 5; n++)
          expect(await viaMaster(['config', 'get', 'replica-announce-ip'])).toContain(newMaster);
        await waitFor(
          'Sentinels list the old master as a replica again',
          async () => {
            const lines = (
              await cli(old, ['sentinel', 'replicas', masterSet], { ...AUTH, container: 'sentinel', port: 26379 })
            ).split('\n');
            // Flat key/value lines per replica: take each replica's "name" and "flags".
            const names = lines.flatMap((l, i) => (l === 'name' ? [lines[i + 1]] : []));
            const flags = lines.flatMap((l, i) => (l === 'flags' ? [lines[i + 1]] : []));
            return names.includes(`${fqdn(0)}:6379`) && flags.length === 2 && flags.every((f) => f === 'slave');
          },
          { timeoutMs: 30_000, intervalMs: 500 },
        );
      }),
    90_000,
  );

  test(
    'a recreated replica pod with a new IP rejoins by name',
    () =>
      check(async () => {
        const newMaster = await sentinelMaster();
        const victim = servers.find((p) => !newMaster.startsWith(`${p.hostname}.`))!;
        victim.unpublishDns();
        await victim.killAll();
        await victim.changeIp();
        // A new pod: new containers, new (empty) emptyDirs, so Sentinel starts without its
        // state and asks its peers; same PVC.
        victim.wipeEmptyDirs();
        cluster.setRecord(
          sentinelEndpoint,
          servers.map((p) => p.ip),
        );
        const t0 = Date.now();
        await victim.start('redis');
        await victim.start('sentinel');
        expect(victim.logs('sentinel')).toContain('monitoring');
        await waitLinkUp(victim, 60_000, AUTH);
        figures.recreatedReplicaToLinked = Date.now() - t0;
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
    90_000,
  );
  test(
    'the master pod is deleted (SIGTERM) and recreated with a new IP: failover, then it rejoins as a replica',
    () =>
      check(async () => {
        const oldName = await sentinelMaster();
        const old = servers.find((p) => oldName.startsWith(`${p.hostname}.`))!;
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
        const t0 = Date.now();
        // Deletion: the pod's name leaves DNS, both containers get SIGTERM (Redis shuts down
        // cleanly), the address goes; a new pod with the same name and PVC comes a bit later.
        old.unpublishDns();
        await Promise.all([
          old.signal('redis', 'SIGTERM', { restart: false }),
          old.signal('sentinel', 'SIGTERM', { restart: false }),
        ]);
        await old.changeIp();
        cluster.setRecord(
          sentinelEndpoint,
          servers.filter((p) => p !== old).map((p) => p.ip),
        );
        let writableAt = 0;
        while (!writableAt && Date.now() - t0 < downAfter + failoverTimeout) {
          const r = await viaMaster(['set', 'after-delete', 'yes']).catch((e) => String(e));
          if (r === 'OK') writableAt = Date.now() - t0;
          else await sleep(100);
        }
        figures.masterDeletedToWritable = writableAt;
        expect(writableAt).toBeGreaterThan(0);
        const newName = await sentinelMaster();
        expect(newName).not.toBe(oldName);
        // The new pod: empty emptyDirs, same PVC.
        await sleep(2000);
        old.wipeEmptyDirs();
        old.publishDns();
        cluster.setRecord(
          sentinelEndpoint,
          servers.map((p) => p.ip),
        );
        const t1 = Date.now();
        await old.start('sentinel');
        await old.start('redis');
        const i = await waitLinkUp(old, 60_000, AUTH);
        figures.recreatedOldMasterToLinked = Date.now() - t1;
        expect(i.master_host).toBe(newName);
        expect(old.logs('sentinel').split('--- start').pop()).toContain(`monitoring ${masterSet} at ${newName}`);
        expect(await cli(old, ['get', 'before-delete'], AUTH)).toBe('kept');
        expect(await cli(old, ['get', 'after-delete'], AUTH)).toBe('yes');
        for (const k of acked) expect(await viaMaster(['get', k])).toBe(`v${k.split(':')[1]}`);
        await waitFor(
          'all three Sentinels agree again',
          async () => {
            for (const p of servers) {
              const m = (
                await cli(p, ['--raw', 'sentinel', 'get-master-addr-by-name', masterSet], {
                  ...AUTH,
                  container: 'sentinel',
                  port: 26379,
                })
              ).split('\n')[0];
              if (m !== newName) return false;
            }
            return true;
          },
          { timeoutMs: 30_000, intervalMs: 500 },
        );
      }),
    150_000,
  );
  test(
    'a partitioned master accepts writes only until min-replicas-max-lag; they are lost when it rejoins',
    () =>
      check(async () => {
        const oldName = await sentinelMaster();
        const old = servers.find((p) => oldName.startsWith(`${p.hostname}.`))!;
        // Start from a settled state: a Sentinel only reconfigures replicas it knows about
        // (it learns them from the master's INFO every 10 s).
        await sentinelsConverged(oldName);
        const conf: string = configMaps(objs)[sts.metadata.name]['redis.conf'];
        const maxLag = Number(/min-replicas-max-lag (\d+)/.exec(conf)![1]);
        // Cut the master's pod (Redis and its Sentinel) off; a client inside it keeps writing.
        const t0 = Date.now();
        await old.setLink(false);
        const accepted: string[] = [];
        let refusedAt = 0;
        let lastError = '';
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
        console.log(
          `redis-ha partition: the cut-off master accepted ${accepted.length} writes for ${refusedAt} ms, then refused (${lastError.trim()})`,
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
          { timeoutMs: downAfter + failoverTimeout, intervalMs: 250 },
        );
        await waitFor(
          'writes through the endpoint',
          async () => (await viaMaster(['set', 'majority-side', 'yes']).catch(() => '')) === 'OK',
          { timeoutMs: 15_000, intervalMs: 250 },
        );
        // Heal: the Sentinels turn the old master into a replica; what it accepted alone is gone.
        await old.setLink(true);
        const i = await waitFor(
          `${old.opts.name} demoted to a replica of ${promoted}`,
          async () => {
            const r = await info(old, 'replication', AUTH);
            return r.role === 'slave' && r.master_host === promoted && r.master_link_status === 'up' ? r : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        expect(i.role).toBe('slave');
        figures.partitionWritesLost = accepted.length;
        expect(accepted.length).toBeGreaterThan(0);
        for (const k of accepted) expect(await viaMaster(['exists', k])).toBe('0');
        expect(await cli(old, ['get', 'majority-side'], AUTH)).toBe('yes');
        for (const k of acked) expect(await viaMaster(['get', k])).toBe(`v${k.split(':')[1]}`);
      }),
    150_000,
  );
});
