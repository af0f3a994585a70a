// Leader election on a coordination.k8s.io/v1 Lease, following client-go's LeaderElector:
// acquire by create or by update with the observed resourceVersion (a 409 means someone else
// won), renew every retryPeriod, step down when no renewal succeeded for renewDeadline, and on
// release clear the holder so a peer can take over at once (ReleaseOnCancel).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeAccess } from '../client/access';
import { kubeRequest } from '../client/kube-request';
import { httpStatus } from '../errors';
import { nopLogger, type Logger } from '../log';

/** Metric hook (leader_election_master_status{name}, see metrics.ts). */
export interface LeaderElectionMetrics {
  setLeader(leader: boolean): void;
}

export interface LeaderElectorOptions {
  kubeConfig: KubeAccess;
  /** Lease namespace and name (the leader election ID). */
  namespace: string;
  name: string;
  /** Default: hostname + "_" + random UUID (as controller-runtime). */
  identity?: string;
  /** How long peers wait before taking over an unrenewed lease; default 15 s. */
  leaseDurationMs?: number;
  /** The leader steps down when no renewal succeeded for this long; default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts; default 2 s. */
  retryPeriodMs?: number;
  /** Called when leadership is lost involuntarily (not after release()); operators exit here. */
  onStoppedLeading?: () => void;
  log?: Logger;
  metrics?: LeaderElectionMetrics;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Identity used when none is given: hostname + "_" + random UUID. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** MicroTime format the API server parses: RFC 3339 with exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  private readonly kc: KubeAccess;
  private readonly namespace: string;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly onStoppedLeading: (() => void) | undefined;
  private readonly log: Logger;
  private readonly metrics: LeaderElectionMetrics | undefined;
  /** Aborted by release(): ends the campaign/renew loops and their sleeps. */
  private readonly stopping = new AbortController();
  private leader = false;
  /** The lease as last read or written by us. */
  private lease: Lease | undefined;
  /** The last lease spec seen and when (local monotonic clock) it changed: expiry is judged
   * against our own clock, never the holder's timestamps (client-go does the same). */
  private observed: { record: string; holder: string; durationMs: number; at: number } | undefined;
  private acquiring: Promise<boolean> | undefined;
  private renewing: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.kc = options.kubeConfig;
    this.namespace = options.namespace;
    this.name = options.name;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
    this.onStoppedLeading = options.onStoppedLeading;
    this.log = (options.log ?? nopLogger).child(
      { lease: `${this.namespace}/${this.name}`, identity: this.identity },
      'leader-election',
    );
    this.metrics = options.metrics;
    this.metrics?.setLeader(false);
  }

  isLeader(): boolean {
    return this.leader;
  }

  /**
   * Campaigns until this process holds the lease, then keeps renewing it in the background.
   * Resolves true once leading, or false if release() was called first.
   */
  acquire(): Promise<boolean> {
    this.acquiring ??= this.campaign();
    return this.acquiring;
  }

  private async campaign(): Promise<boolean> {
    this.log.info('attempting to acquire leader lease');
    while (!this.stopping.signal.aborted) {
      if (await this.tryAcquireOrRenew(this.renewDeadlineMs)) {
        this.setLeader(true);
        this.log.info('successfully acquired lease');
        this.renewing = this.renew();
        return true;
      }
      // client-go waits retryPeriod with a jitter factor of 1.2 between attempts.
      await this.sleep(this.retryPeriodMs * (1 + 1.2 * Math.random()));
    }
    return false;
  }

  /**
   * Stops campaigning/renewing (an attempt in flight is allowed to finish, so the cached
   * resourceVersion stays current); if leading, clears the holder (leaseDurationSeconds 1) so
   * a peer takes over immediately (one attempt, like client-go). The elector cannot be used
   * again afterwards.
   */
  async release(): Promise<void> {
    this.stopping.abort();
    await this.acquiring;
    await this.renewing;
    if (!this.leader || !this.lease) return;
    this.setLeader(false);
    const now = microTime(new Date());
    try {
      await this.update(
        {
          ...this.lease,
          spec: { ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
        },
        this.renewDeadlineMs,
      );
      this.log.info('released lease');
    } catch (err) {
      this.log.error('releasing lease failed', err);
    }
  }

  private async renew(): Promise<void> {
    let lastRenew = performance.now();
    while (!this.stopping.signal.aborted) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopping.signal.aborted) return;
      const remaining = this.renewDeadlineMs - (performance.now() - lastRenew);
      if (await this.tryAcquireOrRenew(Math.max(remaining, 1))) {
        lastRenew = performance.now();
      } else if (performance.now() - lastRenew >= this.renewDeadlineMs) {
        this.setLeader(false);
        this.log.error('failed to renew lease within the renew deadline, leadership lost', undefined, {
          renewDeadlineMs: this.renewDeadlineMs,
        });
        try {
          this.onStoppedLeading?.();
        } catch (err) {
          this.log.error('onStoppedLeading failed', err);
        }
        return;
      }
    }
  }

  /** One attempt; false when another holder's lease is still valid or a request failed. */
  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    const left = () => Math.max(deadline - performance.now(), 1);
    const now = microTime(new Date());
    try {
      // Fast path: while leading, renew our cached copy without reading it first.
      if (this.leader && this.lease) {
        try {
          await this.update({ ...this.lease, spec: { ...this.lease.spec, renewTime: now } }, left());
          return true;
        } catch (err) {
          this.log.debug('fast-path renewal failed, re-reading the lease', { error: err });
        }
      }
      let lease: Lease;
      try {
        lease = await kubeRequest<Lease>(this.kc, { method: 'GET', path: this.leasePath(), timeoutMs: left() });
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
        const spec = this.ourSpec(now, now, 0);
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: this.namespace },
          spec,
        };
        this.lease = await kubeRequest<Lease>(this.kc, {
          method: 'POST',
          path: this.leasePath(false),
          body,
          timeoutMs: left(),
        });
        this.observe(this.lease);
        return true;
      }
      this.observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      if (holder && holder !== this.identity && this.observedValid()) return false;
      const ours = holder === this.identity;
      const transitions = spec.leaseTransitions ?? 0;
      await this.update(
        {
          ...lease,
          spec: {
            ...spec,
            ...this.ourSpec(ours ? (spec.acquireTime ?? now) : now, now, ours ? transitions : transitions + 1),
          },
        },
        left(),
      );
      return true;
    } catch (err) {
      if (httpStatus(err) === 409) this.log.debug('lease update conflict, another candidate won');
      else this.log.error('lease request failed', err);
      return false;
    }
  }

  /** PUT with the lease's resourceVersion (optimistic concurrency: 409 if it changed). */
  private async update(lease: Lease, timeoutMs: number): Promise<void> {
    const updated = await kubeRequest<Lease>(this.kc, {
      method: 'PUT',
      path: this.leasePath(),
      body: lease,
      timeoutMs,
    });
    this.lease = updated;
    this.observe(updated);
  }

  private ourSpec(acquireTime: string, renewTime: string, leaseTransitions: number): LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime,
      renewTime,
      leaseTransitions,
    };
  }

  private observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    const record = JSON.stringify([
      spec.holderIdentity,
      spec.renewTime,
      spec.acquireTime,
      spec.leaseDurationSeconds,
      spec.leaseTransitions,
    ]);
    if (record === this.observed?.record) return;
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.observed?.holder && holder && holder !== this.identity)
      this.log.info('new leader observed', { leader: holder });
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    this.observed = { record, holder, durationMs, at: performance.now() };
  }

  private observedValid(): boolean {
    return !!this.observed && this.observed.at + this.observed.durationMs > performance.now();
  }

  private setLeader(leader: boolean): void {
    this.leader = leader;
    this.metrics?.setLeader(leader);
  }

  private leasePath(withName = true): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
    return withName ? `${base}/${encodeURIComponent(this.name)}` : base;
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => {});
  }
}
