// Real processes: the redis-sfs StatefulSet exactly as synthesized in
// dist/redis-statefulset.k8s.yaml (container command, env, ConfigMap, security context),
// one redis-server per ordinal, each in its own network/mount/UTS/PID namespace with the
// pod's hostname and the headless Service's names in its hosts file (test/support/pod-runner.ts).
// No Kubernetes: this proves the script and config, not the scheduling.
import { randomBytes } from 'node:crypto';
import { FakeCluster, FakePod } from '../support/pod-runner';
import { loadDist } from '../support/dist';
import { configMaps, find, startStatefulSetPod } from '../support/redis-manifests';
import {
  cli as rawCli,
  info as rawInfo,
  setAndWait as rawSetAndWait,
  waitLinkUp as rawWaitLinkUp,
  type CliOptions,
} from '../support/redis-cli';
import { realProcessPrereqs } from '../support/sys';
import { sleep, waitFor } from '../support/wait';

const pre = realProcessPrereqs();
const d = pre.ok ? describe : describe.skip;
if (!pre.ok) console.warn(`redis-statefulset real-process tests skipped: ${pre.reason}`);

// Linking needs one full sync; Redis 7 delays a diskless sync by 5 s (repl-diskless-sync-delay).
const LINK_TIMEOUT = 30_000;

// Every command authenticates with the password from the pod's environment (the Secret).
const AUTH: CliOptions = { authEnv: 'REDIS_PASSWORD' };
const cli = (p: FakePod, args: string[], o: CliOptions = {}) => rawCli(p, args, { ...AUTH, ...o });
const info = (p: FakePod, section: string) => rawInfo(p, section, AUTH);
const setAndWait = (p: FakePod, k: string, v: string, n: number, ms: number) => rawSetAndWait(p, k, v, n, ms, AUTH);
const waitLinkUp = (p: FakePod, ms: number) => rawWaitLinkUp(p, ms, AUTH);

d('redis-sfs StatefulSet with real redis-server processes', () => {
  let objs: ReturnType<typeof loadDist>;
  let sts: ReturnType<typeof find>;
  let cluster: FakeCluster;
  const pods: FakePod[] = [];
  // One more ordinal than a replica pair, so "every replica" means more than one.
  let ordinals = 3;

  const dump = () =>
    pods.map((p) => `==== ${p.opts.name}\n${p.logs('redis').split('\n').slice(-25).join('\n')}`).join('\n');

  beforeAll(async () => {
    objs = loadDist('redis-statefulset');
    sts = find(objs, 'StatefulSet');
    ordinals = Math.max(ordinals, sts.spec.replicas);
    const namespace = sts.metadata.namespace ?? 'default';
    // The Secret the user creates (a test-only random password).
    const ref = sts.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'REDIS_PASSWORD')
      .valueFrom.secretKeyRef;
    const secrets = { [ref.name]: { [ref.key]: randomBytes(24).toString('hex') } };
    cluster = await FakeCluster.create({
      namespace,
      clusterDomain: clusterDomainOf(sts),
      configMaps: configMaps(objs),
      secrets,
    });
  }, 30_000);

  afterAll(async () => {
    await cluster?.destroy();
  }, 30_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls > state.numPassingAsserts || process.env.REDIS_HARNESS_LOGS) console.log(dump());
  });

  const master = () => pods[0];
  const replicas = () => pods.slice(1);

  /**
   * The endpoints Service <name>-read would have: the pods its selector matches (the pod
   * template's labels) whose readiness probe passes now, as the endpoints controller sees them.
   */
  async function readEndpoints(): Promise<FakePod[]> {
    const svc = find(objs, 'Service', `${sts.metadata.name}-read`);
    const podLabels: Record<string, string> = sts.spec.template.metadata.labels;
    const selected = Object.entries(svc.spec.selector as Record<string, string>).every(([k, v]) => podLabels[k] === v);
    if (!selected) return [];
    const out: FakePod[] = [];
    for (const p of pods) if (p && p.running('redis') && (await p.probe('redis', 'readiness')).ok) out.push(p);
    return out;
  }

  test('replicas started before their master name resolves keep retrying, then join', async () => {
    // Replicas first: pod 0 does not exist yet, so its DNS name does not resolve.
    for (let i = 1; i < ordinals; i++) pods[i] = await startStatefulSetPod(cluster, sts, i);
    await sleep(4000);
    for (const r of replicas()) {
      expect(r.running('redis')).toBe(true);
      expect(r.restarts('redis')).toBe(0);
      const i = await info(r, 'replication');
      expect(i.role).toBe('slave');
      expect(i.master_link_status).toBe('down');
      // Alive (not restarted by the kubelet) but not ready while the master is missing.
      expect((await r.probe('redis', 'liveness')).ok).toBe(true);
      expect((await r.probe('redis', 'readiness')).ok).toBe(false);
    }
    expect(replicas()[0].logs('redis')).toMatch(/Connecting to MASTER redis-sfs-0\.redis-sfs\./);
    // Never synced since they started (their data may be empty): not in the read Service.
    expect(await readEndpoints()).toEqual([]);

    pods[0] = await startStatefulSetPod(cluster, sts, 0);
    for (const r of replicas()) await waitLinkUp(r, LINK_TIMEOUT);
    expect((await info(master(), 'replication')).connected_slaves).toBe(String(ordinals - 1));
    for (const p of pods) {
      expect(p.restarts('redis')).toBe(0);
      expect((await p.probe('redis', 'readiness')).ok).toBe(true);
    }
  }, 60_000);

  test('without the password every pod refuses commands', async () => {
    for (const p of pods) {
      expect(await rawCli(p, ['get', 'greeting'])).toMatch(/NOAUTH/);
      expect(await rawCli(p, ['set', 'x', '1'])).toMatch(/NOAUTH/);
      expect(await cli(p, ['ping'])).toBe('PONG');
    }
  }, 30_000);

  test('a key written on the master is read on every replica', async () => {
    // WAIT (same connection as the write) returns how many replicas acknowledged it.
    expect(await setAndWait(master(), 'greeting', 'hello', ordinals - 1, 5000)).toBe(ordinals - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'greeting'])).toBe('hello');
      // Replicas are read-only.
      expect(await cli(r, ['set', 'x', '1'])).toMatch(/READONLY/);
    }
  }, 30_000);

  test('a restarted replica rejoins and catches up', async () => {
    const r = replicas()[0];
    await r.signal('redis', 'SIGKILL'); // the kubelet restarts it
    expect(await cli(master(), ['set', 'while-replica-down', 'v1'])).toBe('OK');
    await waitFor('replica restarted', async () => r.running('redis') && r.restarts('redis') === 1, {
      timeoutMs: 15_000,
    });
    await waitLinkUp(r, LINK_TIMEOUT);
    expect(await cli(r, ['get', 'while-replica-down'])).toBe('v1');
    expect(await cli(r, ['get', 'greeting'])).toBe('hello');
  }, 60_000);

  test('replicas stay alive and in the read Service while the master is down, and rejoin the restarted master', async () => {
    expect(await cli(master(), ['set', 'before-master-restart', 'kept'])).toBe('OK');
    await sleep(1500); // appendfsync everysec
    expect((await readEndpoints()).map((p) => p.opts.name).sort()).toEqual(pods.map((p) => p.opts.name).sort());
    await master().signal('redis', 'SIGKILL', { restart: false });
    for (const r of replicas()) {
      await waitFor(
        `${r.opts.name} notices the master is gone`,
        async () => (await info(r, 'replication')).master_link_status === 'down',
        { timeoutMs: 15_000 },
      );
    }
    // Down for a while: liveness keeps passing (no restart), readiness too (replicas serve
    // possibly stale data), so the read Service keeps every replica and reads through it,
    // from another pod by address, keep working.
    for (let n = 0; n < 3; n++) {
      const endpoints = await readEndpoints();
      expect(endpoints.map((p) => p.opts.name).sort()).toEqual(
        replicas()
          .map((p) => p.opts.name)
          .sort(),
      );
      for (const r of replicas()) {
        expect((await r.probe('redis', 'liveness')).ok).toBe(true);
        expect((await r.probe('redis', 'readiness')).ok).toBe(true);
      }
      for (const ep of endpoints) {
        const client = endpoints.find((p) => p !== ep) ?? ep;
        expect(await cli(client, ['get', 'greeting'], { host: ep.ip })).toBe('hello');
        expect(await cli(client, ['get', 'before-master-restart'], { host: ep.ip })).toBe('kept');
        // Still read-only: writes need the master.
        expect(await cli(client, ['set', 'x', '1'], { host: ep.ip })).toMatch(/READONLY/);
      }
      await sleep(1000);
    }
    await master().start('redis');
    for (const r of replicas()) await waitLinkUp(r, LINK_TIMEOUT);
    // The master reloaded its data from the append-only file on its volume, so the resync
    // did not wipe the replicas.
    expect(await cli(master(), ['get', 'before-master-restart'])).toBe('kept');
    expect(await setAndWait(master(), 'after-master-restart', 'v2', ordinals - 1, 5000)).toBe(ordinals - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'before-master-restart'])).toBe('kept');
      expect(await cli(r, ['get', 'after-master-restart'])).toBe('v2');
      expect(r.restarts('redis')).toBe(r === replicas()[0] ? 1 : 0);
    }
  }, 90_000);

  test('a recreated master pod with a new IP is found again by name', async () => {
    // Pod deleted: its DNS record goes, its address goes; the new pod gets a new address.
    const old = master().ip;
    master().unpublishDns();
    await master().signal('redis', 'SIGKILL', { restart: false });
    await master().changeIp();
    expect(master().ip).not.toBe(old);
    const t0 = Date.now();
    await master().start('redis');
    // A replica that resolved the name just before the pod went connects to the old address,
    // where nothing answers, and waits for repl-timeout (60 s by default) before it resolves
    // the name again; so the bound here is repl-timeout plus a sync.
    for (const r of replicas()) await waitLinkUp(r, 90_000);
    console.log(`redis-sfs: replicas relinked to the recreated master (new IP) after ${Date.now() - t0} ms`);
    expect(await setAndWait(master(), 'after-new-ip', 'v3', ordinals - 1, 5000)).toBe(ordinals - 1);
    for (const r of replicas()) {
      expect(await cli(r, ['get', 'after-new-ip'])).toBe('v3');
      expect(await cli(r, ['get', 'greeting'])).toBe('hello');
    }
  }, 120_000);
});

function clusterDomainOf(sts: {
  spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
}): string {
  // The master host is <pod>.<svc>.$(POD_NAMESPACE).svc.<domain>: take the domain from it.
  const env = sts.spec.template.spec.containers[0].env ?? [];
  const host = env.find((e) => e.name === 'MASTER_HOST')?.value;
  const m = host && /\.svc\.(.+)$/.exec(host);
  return m ? m[1] : 'cluster.local';
}
