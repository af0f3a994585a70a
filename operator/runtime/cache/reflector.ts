// A reflector lists and watches one scope of one resource (a namespace, or the whole cluster)
// into a Store. It never gives up: 410 Gone → relist; a watch that ends is resumed from the
// last resourceVersion at once if it was healthy (delivered events or stayed open ≥ 1 s),
// otherwise (errors, failed lists) after exponential backoff (1 s doubling, capped at 30 s).
// A watchdog restarts watches that deliver nothing, not even a bookmark. Note that
// client-node 2.0.1's Watch itself aborts a watch after 30 s without data (reason "timeout",
// resumed at once), so on quiet resources watches are renewed about every 30 s.
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../client/kube-request';
import { httpStatus } from '../errors';
import type { Logger } from '../log';
import { resourcePath, type KubeObject, type ResourceRef } from '../object';
import type { Store, StoreMetrics } from './store';

export type WatchRestartReason = 'closed' | 'timeout' | 'watchdog' | 'gone' | 'error';

/** Metric hooks of an informer (see metrics.ts). */
export interface InformerMetrics extends StoreMetrics {
  listed(): void;
  watchRestarted(reason: WatchRestartReason): void;
  event(type: string): void;
}

export interface ReflectorOptions {
  kubeConfig: KubeConfig;
  resource: ResourceRef;
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (limit); default 500. */
  pageSize?: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long; default 5 min. */
  watchdogMs?: number;
  /** Cap of the restart backoff (1 s doubling); default 30 s. */
  maxBackoffMs?: number;
  metrics?: InformerMetrics;
}

/** What a watch attempt ended with. */
interface WatchEnd {
  reason: WatchRestartReason;
  /** Delivered events or stayed open ≥ 1 s: the next attempt starts without backoff. */
  healthy: boolean;
  error?: unknown;
}

interface ListResponse<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

const BACKOFF_BASE_MS = 1000;
const HEALTHY_WATCH_MS = 1000;

/** Lists and watches one scope (a namespace, or the whole cluster) into a store. */
export class Reflector<T extends KubeObject = KubeObject> {
  synced = false;
  private resourceVersion: string | undefined;
  private readonly stopping = new AbortController();
  /** Ends the current watch attempt early (stop, watchdog). */
  private endWatch: ((reason: WatchRestartReason) => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly path: string;
  private readonly log: Logger;

  constructor(
    private readonly cache: Store<T>,
    private readonly options: ReflectorOptions,
    private readonly namespace: string | undefined,
    log: Logger,
    private readonly onSynced: () => void,
  ) {
    this.path = resourcePath(options.resource, namespace);
    this.log = namespace ? log.child({ namespace }) : log;
  }

  start(): void {
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.endWatch?.('closed');
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        if (this.stopped) break;
        const end = await this.watch();
        if (this.stopped) break;
        this.options.metrics?.watchRestarted(end.reason);
        if (end.reason === 'gone') this.resourceVersion = undefined;
        failures = end.healthy ? 0 : failures + 1;
        if (end.reason === 'error') this.log.error('watch failed', end.error, { failures });
        else if (end.reason === 'gone') this.log.info('watch expired (410 Gone), relisting');
        else this.log.debug('watch ended', { reason: end.reason, resourceVersion: this.resourceVersion });
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.options.metrics?.watchRestarted('error');
        this.log.error('list failed', err, { failures });
      }
      if (failures > 0) {
        await this.backoff(failures);
        // Recovery is news at info; the failure itself was logged at error.
        // (A relist is logged when it succeeds: 'relisted'.)
        if (!this.stopped && this.resourceVersion !== undefined) this.log.info('restarting watch', { failures, resourceVersion: this.resourceVersion });
      }
    }
  }

  private async backoff(failures: number): Promise<void> {
    const max = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, BACKOFF_BASE_MS * 2 ** (failures - 1) * (0.8 + 0.4 * Math.random()));
    await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => {});
  }

  private async list(): Promise<void> {
    const objects: T[] = [];
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const page = await kubeRequest<ListResponse<T>>(this.options.kubeConfig, {
        method: 'GET',
        path: this.path,
        query: {
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
        },
        signal: this.stopping.signal,
        timeoutMs: 60_000,
      });
      // List items of built-in types carry no apiVersion/kind; fill them in from the list.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) objects.push({ apiVersion: page.apiVersion, kind, ...item });
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    if (this.stopped) return;
    this.options.metrics?.listed();
    this.cache.replace(this.namespace, objects);
    this.resourceVersion = resourceVersion;
    // The first list is routine; a later one (after 410 Gone or a failure) is a recovery.
    if (this.synced) this.log.info('relisted', { count: objects.length, resourceVersion });
    else this.log.debug('listed', { count: objects.length, resourceVersion });
    if (!this.synced) {
      this.synced = true;
      this.onSynced();
    }
  }

  /** One watch attempt from this.resourceVersion; resolves when it ends, never rejects. */
  private watch(): Promise<WatchEnd> {
    return new Promise((resolve) => {
      const started = performance.now();
      const watchdogMs = this.options.watchdogMs ?? 5 * 60_000;
      let events = 0;
      let endReason: WatchRestartReason | undefined;
      let endError: unknown;
      let controller: AbortController | undefined;
      let finished = false;
      let watchdog: NodeJS.Timeout | undefined;

      const armWatchdog = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          this.log.info('watch silent, restarting', { silentMs: watchdogMs });
          end('watchdog');
        }, watchdogMs);
        watchdog.unref();
      };
      // Ends the attempt on our side; client-node then calls done() with an abort error.
      const end = (reason: WatchRestartReason, error?: unknown) => {
        endReason ??= reason;
        endError ??= error;
        controller?.abort();
      };
      const finish = (err: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        this.endWatch = undefined;
        let reason = endReason;
        let error = endError;
        if (!reason) {
          if (!err) reason = 'closed';
          else if ((err as Error).name === 'TimeoutError') reason = 'timeout';
          else if (httpStatus(err) === 410) reason = 'gone';
          else [reason, error] = ['error', err];
        }
        resolve({ reason, error, healthy: events > 0 || performance.now() - started >= HEALTHY_WATCH_MS });
      };

      this.endWatch = end;
      armWatchdog();
      new Watch(this.options.kubeConfig)
        .watch(
          this.path,
          {
            allowWatchBookmarks: true,
            resourceVersion: this.resourceVersion,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            // Like client-go: let the server end watches after 5–10 min so load spreads out.
            timeoutSeconds: Math.floor(300 + Math.random() * 300),
          },
          (type: string, obj: T & { code?: number; reason?: string; message?: string }) => {
            if (finished || endReason) return;
            this.options.metrics?.event(type);
            if (type === 'ERROR') {
              if (obj.code === 410 || obj.reason === 'Expired' || obj.reason === 'Gone') end('gone');
              else end('error', new Error(`watch error event: ${obj.message ?? JSON.stringify(obj)}`));
              return;
            }
            events++;
            armWatchdog();
            if (type === 'ADDED' || type === 'MODIFIED') this.cache.upsert(obj);
            else if (type === 'DELETED') this.cache.remove(obj);
            this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
          },
          finish,
        )
        .then(
          (c) => {
            controller = c;
            if (endReason) c.abort();
          },
          finish,
        );
    });
  }
}
