// operator/runtime/manager/leader-election.ts against a real kube-apiserver (cluster/).
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, kubeConfig, type TestNamespace } from '../support/shared';
import { waitFor } from '../support/wait';
import { LeaderElector, type LeaderElectorOptions } from '../../operator/runtime/manager/leader-election';
import { RuntimeMetrics } from '../../operator/runtime/metrics';

jest.setTimeout(120_000);

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lease times as epoch ms (client-node hands MicroTime fields back as strings or Dates). */
const epoch = (t: unknown) => new Date(t as string | Date).getTime();

describe('LeaderElector on the shared control plane', () => {
  let ns: TestNamespace;
  let leases: k8s.CoordinationV1Api;
  const electors: LeaderElector[] = [];

  beforeAll(async () => {
    ns = await createTestNamespace('rt-leader');
    leases = kubeConfig().makeApiClient(k8s.CoordinationV1Api);
  });

  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.release()));
  });

  afterAll(async () => {
    await ns?.delete();
  });

  function elector(name: string, identity: string, options: Partial<LeaderElectorOptions> = {}): LeaderElector {
    const e = new LeaderElector({ kubeConfig: kubeConfig(), namespace: ns.name, name, identity, ...options });
    electors.push(e);
    return e;
  }

  const readLease = (name: string) => leases.readNamespacedLease({ namespace: ns.name, name });

  test('with controller-runtime defaults: creates and renews the Lease, and hands over on release()', async () => {
    const metrics = new RuntimeMetrics({ defaultMetrics: false });
    const a = elector('defaults', 'a', { metrics: metrics.leaderElection('defaults') });
    const b = elector('defaults', 'b');
    expect(await a.acquire()).toBe(true);
    const first = await readLease('defaults');
    expect(first.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="defaults"} 1');

    const bAcquired = b.acquire();
    await wait(2600); // > retryPeriod (2 s): a has renewed, b keeps waiting
    const renewed = await readLease('defaults');
    expect(epoch(renewed.spec?.renewTime)).toBeGreaterThan(epoch(first.spec?.renewTime));
    expect(epoch(renewed.spec?.acquireTime)).toBe(epoch(first.spec?.acquireTime));
    expect(b.isLeader()).toBe(false);

    const released = Date.now();
    await a.release();
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="defaults"} 0');
    expect(await bAcquired).toBe(true);
    // b took over after one retry period (2 s × jitter ≤ 2.2), not after the 15 s lease expiry
    expect(Date.now() - released).toBeLessThan(5000);
    expect((await readLease('defaults')).spec).toMatchObject({
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      leaseTransitions: 1,
    });
  });

  test('only one of several simultaneous candidates wins', async () => {
    const candidates = ['c1', 'c2', 'c3'].map((id) =>
      elector('race', id, { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 }),
    );
    const winner = await Promise.race(candidates.map((c) => c.acquire().then(() => c)));
    await wait(1500);
    expect(candidates.filter((c) => c.isLeader())).toEqual([winner]);
    expect((await readLease('race')).spec?.holderIdentity).toBe(winner.identity);
  });

  test('steps down and calls onStoppedLeading when another holder takes the Lease', async () => {
    let stopped = false;
    const a = elector('stolen', 'a', {
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
      onStoppedLeading: () => (stopped = true),
    });
    await a.acquire();
    // An intruder overwrites the Lease and keeps it fresh.
    let intruding = true;
    const intruder = (async () => {
      while (intruding) {
        try {
          const lease = await readLease('stolen');
          lease.spec = { ...lease.spec, holderIdentity: 'intruder', renewTime: new k8s.V1MicroTime() };
          await leases.replaceNamespacedLease({ namespace: ns.name, name: 'stolen', body: lease });
        } catch {
          // conflict with a's renewal: try again
        }
        await wait(200);
      }
    })();
    try {
      await waitFor('a stepped down', async () => stopped, { timeoutMs: 10_000, intervalMs: 100 });
      expect(a.isLeader()).toBe(false);
    } finally {
      intruding = false;
      await intruder;
    }
    expect((await readLease('stolen')).spec?.holderIdentity).toBe('intruder');
    await a.release(); // not the holder: leaves the Lease alone
    expect((await readLease('stolen')).spec?.holderIdentity).toBe('intruder');
  });
});
