// Leader election against an in-process HTTP endpoint that stores one Lease with
// resourceVersion-based optimistic concurrency (409 on a stale update, like the API server).
// Short durations keep it fast; behaviour against a real kube-apiserver belongs in the
// integration suite.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import {
  LeaderElector,
  defaultIdentity,
  type LeaderElectorOptions,
} from '../../../../../operator/runtime/manager/leader-election';
import { RuntimeMetrics } from '../../../../../operator/runtime/metrics';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE_PATH = '/apis/coordination.k8s.io/v1/namespaces/ops/leases/my-lock';

interface StoredLease {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    renewTime?: string;
    acquireTime?: string;
    leaseTransitions?: number;
  };
}

class FakeLeases {
  lease: StoredLease | undefined;
  /** Identities whose requests fail with 500 (simulates a partitioned leader). */
  failing = new Set<string>();
  writes: Array<{ method: string; holder?: string }> = [];
  private rv = 1;
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  kubeConfig(user: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: user, token: user }],
      contexts: [{ name: 'fake', cluster: 'fake', user }],
      currentContext: 'fake',
    });
    return kc;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, reason: string) =>
      reply(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: reason });
    const user = (req.headers.authorization ?? '').replace('Bearer ', '');
    if (this.failing.has(user)) return status(500, 'InternalError');
    const body = text ? (JSON.parse(text) as StoredLease) : undefined;
    if (req.method === 'GET' && req.url === LEASE_PATH)
      return this.lease ? reply(200, this.lease) : status(404, 'NotFound');
    if (req.method === 'POST' && req.url === LEASE_PATH.replace('/my-lock', '')) {
      if (this.lease) return status(409, 'AlreadyExists');
      this.lease = { ...body!, metadata: { ...body!.metadata, resourceVersion: String(++this.rv) } };
      this.writes.push({ method: 'POST', holder: body!.spec.holderIdentity });
      return reply(201, this.lease);
    }
    if (req.method === 'PUT' && req.url === LEASE_PATH) {
      if (!this.lease) return status(404, 'NotFound');
      if (body!.metadata.resourceVersion !== this.lease.metadata.resourceVersion) return status(409, 'Conflict');
      this.lease = { ...body!, metadata: { ...body!.metadata, resourceVersion: String(++this.rv) } };
      this.writes.push({ method: 'PUT', holder: body!.spec.holderIdentity });
      return reply(200, this.lease);
    }
    status(405, 'MethodNotAllowed');
  }
}

let api: FakeLeases;
const electors: LeaderElector[] = [];

async function startApi() {
  api = new FakeLeases();
  await api.start();
}

function elector(identity: string, options: Partial<LeaderElectorOptions> = {}): LeaderElector {
  const e = new LeaderElector({
    kubeConfig: api.kubeConfig(identity),
    namespace: 'ops',
    name: 'my-lock',
    identity,
    leaseDurationMs: 1500,
    renewDeadlineMs: 1000,
    retryPeriodMs: 100,
    ...options,
  });
  electors.push(e);
  return e;
}

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.release()));
  await api?.close();
});

describe('LeaderElector', () => {
  it('defaults identity to hostname_uuid and validates durations', async () => {
    expect(defaultIdentity()).toMatch(/^.+_[0-9a-f-]{36}$/);
    await startApi();
    expect(() => elector('x', { renewDeadlineMs: 2000 })).toThrow(/leaseDuration > renewDeadline > retryPeriod/);
  });

  it('creates the lease, renews it, and reports leader_election_master_status', async () => {
    await startApi();
    const metrics = new RuntimeMetrics({ defaultMetrics: false });
    const a = elector('a', { metrics: metrics.leaderElection('my-lock') });
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="my-lock"} 0');
    expect(await a.acquire()).toBe(true);
    expect(a.isLeader()).toBe(true);
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="my-lock"} 1');
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(api.lease?.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const { renewTime, acquireTime } = api.lease!.spec;
    await wait(350);
    expect(api.writes.filter((w) => w.method === 'PUT').length).toBeGreaterThanOrEqual(2);
    expect(api.lease?.spec.renewTime).not.toBe(renewTime);
    expect(api.lease?.spec.acquireTime).toBe(acquireTime); // renewals keep the acquire time
    await a.release();
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="my-lock"} 0');
  });

  it('lets only one candidate lead; release() hands over immediately', async () => {
    await startApi();
    const a = elector('a');
    const b = elector('b');
    expect(await a.acquire()).toBe(true);
    const bAcquired = b.acquire();
    await wait(300);
    expect(b.isLeader()).toBe(false);

    const released = performance.now();
    await a.release();
    expect(api.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(await bAcquired).toBe(true);
    // b did not have to wait for the 1.5 s lease to expire
    expect(performance.now() - released).toBeLessThan(800);
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('takes over a lease whose holder stopped renewing, once it expired by the local clock', async () => {
    await startApi();
    const a = elector('a');
    await a.acquire();
    api.failing.add('a'); // a is cut off: cannot renew
    const lost = new Promise<number>((resolve) => {
      const started = performance.now();
      const b = elector('b');
      void b.acquire().then(() => resolve(performance.now() - started));
    });
    const took = await lost;
    expect(took).toBeGreaterThanOrEqual(1000); // waited for expiry (1.5 s lease, observed fresh)
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('steps down after renewDeadline without a successful renewal and calls onStoppedLeading', async () => {
    await startApi();
    let stoppedAt = 0;
    const a = elector('a', { onStoppedLeading: () => (stoppedAt = performance.now()) });
    await a.acquire();
    const cutOff = performance.now();
    api.failing.add('a');
    while (!stoppedAt && performance.now() - cutOff < 3000) await wait(20);
    expect(a.isLeader()).toBe(false);
    const after = stoppedAt - cutOff;
    expect(after).toBeGreaterThanOrEqual(850); // ≈ renewDeadline (1 s) since the last renewal
    expect(after).toBeLessThan(1500); // before the 1.5 s lease could be taken over
    await a.release(); // not leader: no write
    expect(api.lease?.spec.holderIdentity).toBe('a');
  });

  it('does not steal a lease from a renewing holder, and acquire() resolves false after release()', async () => {
    await startApi();
    const a = elector('a');
    await a.acquire();
    const b = elector('b');
    const bAcquired = b.acquire();
    await wait(1800); // longer than the lease duration: a keeps renewing
    expect(b.isLeader()).toBe(false);
    expect(api.lease?.spec.holderIdentity).toBe('a');
    await b.release();
    expect(await bAcquired).toBe(false);
  });
});
