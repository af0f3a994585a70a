// A reflector lists and watches one scope of one resource (a namespace, or the whole cluster)
// into a Store. It never gives up: 410 Gone → relist; a watch that ends is resumed from the
// last resourceVersion at once if it was healthy (delivered events or stayed open ≥ 1 s),
// otherwise (errors, failed lists) after exponential backoff (1 s doubling, capped at 30 s; at
// 2 s while the resource does not exist, so a re-created CRD is picked up within seconds).
// Watches ask the server for 5–10 min (timeoutSeconds) with bookmarks and carry no client-side
// inactivity limit (see client/watch-stream.ts); a watchdog restarts a watch that delivers
// nothing, not even a bookmark, for 2 min. Objects may pass through a transform before they
// are stored (e.g. to drop managedFields), so the cache holds only what the controller reads.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeAccess } from '../client/access';
import { kubeRequest } from '../client/kube-request';
import { watchStream } from '../client/watch-stream';
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
  kubeConfig: KubeAccess;
  resource: ResourceRef;
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (limit); default 500. */
  pageSize?: number;
  /**
   * Restart a watch that delivered nothing (not even a bookmark, which the server sends about
   * once a minute) for this long: a dead connection. Default 2 min.
   */
  watchdogMs?: number;
  /** Cap of the restart backoff (1 s doubling); default 30 s. */
  maxBackoffMs?: number;
  /** Cap of the backoff while the resource does not exist (404, e.g. a deleted CRD); default 2 s. */
  missingBackoffMs?: number;
  /**
   * Applied to every listed or watched object before it is stored and handed to handlers;
   * keep `metadata.name`, `namespace`, `uid` and `resourceVersion`. Default: drop
   * `metadata.managedFields` (as controller-runtime's default transform does).
   */
  transform?(obj: KubeObject): KubeObject;
  /**
   * Ask the server for the objects' metadata only (PartialObjectMetadata, as client-go's
   * metadata informers do): for a controller that reads nothing but names, labels and deletion
   * of a resource (pods, say), the server sends a fraction of each object and the operator
   * parses a fraction. Objects then have apiVersion meta.k8s.io/v1 and kind
   * PartialObjectMetadata.
   */
  metadataOnly?: boolean;
  metrics?: InformerMetrics;
}

/** Accept headers of a metadata-only list and watch (the server's content negotiation). */
export const METADATA_ONLY_ACCEPT = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
} as const;

/** controller-runtime's default cache transform: managedFields are never read by controllers. */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj?.metadata && 'managedFields' in obj.metadata)
    delete (obj.metadata as { managedFields?: unknown }).managedFields;
  return obj;
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
  /** The last list or watch was answered 404: the resource (e.g. a CRD) does not exist. */
  missing = false;
  private resourceVersion: string | undefined;
  private readonly stopping = new AbortController();
  /** Ends the current watch attempt early (stop, watchdog). */
  private endWatch: ((reason: WatchRestartReason) => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly path: string;
  private readonly log: Logger;
  private readonly transform: (obj: KubeObject) => T;

  constructor(
    private readonly cache: Store<T>,
    private readonly options: ReflectorOptions,
    private readonly namespace: string | undefined,
    log: Logger,
    private readonly onSynced: () => void,
  ) {
    this.path = resourcePath(options.resource, namespace);
    this.log = namespace ? log.child({ namespace }) : log;
    this.transform = (options.transform?.bind(options) ?? stripManagedFields) as (obj: KubeObject) => T;
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
        if (end.reason === 'error') this.failed('watch failed', end.error, failures);
        else if (end.reason === 'gone') this.log.info('watch expired (410 Gone), relisting');
        else this.log.debug('watch ended', { reason: end.reason, resourceVersion: this.resourceVersion });
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.options.metrics?.watchRestarted('error');
        this.failed('list failed', err, failures);
      }
      if (failures > 0) {
        await this.backoff(failures);
        // Recovery is news at info; the failure itself was logged at error.
        // (A relist is logged when it succeeds: 'relisted'.)
        if (!this.stopped && this.resourceVersion !== undefined)
          this.log.info('restarting watch', { failures, resourceVersion: this.resourceVersion });
      }
    }
  }

  /** Logs a failed list or watch; a 404 marks the resource missing (logged once, not per retry). */
  private failed(msg: string, err: unknown, failures: number): void {
    if (httpStatus(err) === 404) {
      // Gone (a deleted CRD): list again when it is back, the cache is rebuilt from that list.
      this.resourceVersion = undefined;
      if (!this.missing) this.log.error(`${msg}: the resource does not exist`, err, { failures });
      this.missing = true;
      return;
    }
    this.log.error(msg, err, { failures });
  }

  private async backoff(failures: number): Promise<void> {
    const max = this.missing ? (this.options.missingBackoffMs ?? 2000) : (this.options.maxBackoffMs ?? 30_000);
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
        accept: this.options.metadataOnly ? METADATA_ONLY_ACCEPT.list : undefined,
        signal: this.stopping.signal,
        timeoutMs: 60_000,
      });
      // List items of built-in types carry no apiVersion/kind; fill them in from the list.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) objects.push(this.transform({ apiVersion: page.apiVersion, kind, ...item }));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    if (this.stopped) return;
    this.options.metrics?.listed();
    if (this.missing) this.log.info('resource exists again', { resourceVersion });
    this.missing = false;
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
  private async watch(): Promise<WatchEnd> {
    const started = performance.now();
    const watchdogMs = this.options.watchdogMs ?? 2 * 60_000;
    const attempt = new AbortController();
    let events = 0;
    let endReason: WatchRestartReason | undefined;
    let endError: unknown;
    let watchdog: NodeJS.Timeout | undefined;
    // Ends the attempt on our side (stop, watchdog, an ERROR event).
    const end = (reason: WatchRestartReason, error?: unknown) => {
      endReason ??= reason;
      endError ??= error;
      attempt.abort();
    };
    const armWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        this.log.info('watch silent, restarting', { silentMs: watchdogMs });
        end('watchdog');
      }, watchdogMs);
      watchdog.unref();
    };
    this.endWatch = end;
    armWatchdog();
    let reason: WatchRestartReason;
    let error: unknown;
    try {
      await watchStream(
        this.options.kubeConfig,
        {
          path: this.path,
          query: {
            allowWatchBookmarks: true,
            resourceVersion: this.resourceVersion,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            // Like client-go: let the server end watches after 5–10 min so load spreads out.
            timeoutSeconds: Math.floor(300 + Math.random() * 300),
          },
          accept: this.options.metadataOnly ? METADATA_ONLY_ACCEPT.watch : undefined,
          signal: attempt.signal,
        },
        (type: string, raw: unknown) => {
          if (endReason) return;
          const obj = raw as T & { code?: number; reason?: string; message?: string };
          this.options.metrics?.event(type);
          if (type === 'ERROR') {
            if (obj.code === 410 || obj.reason === 'Expired' || obj.reason === 'Gone') end('gone');
            else end('error', new Error(`watch error event: ${obj.message ?? JSON.stringify(obj)}`));
            return;
          }
          events++;
          armWatchdog();
          if (type === 'ADDED' || type === 'MODIFIED') this.cache.upsert(this.transform(obj));
          else if (type === 'DELETED') this.cache.remove(this.transform(obj));
          this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
        },
      );
      reason = endReason ?? 'closed';
      error = endError;
    } catch (err) {
      if (endReason) [reason, error] = [endReason, endError];
      else if ((err as Error).name === 'TimeoutError') reason = 'timeout';
      else if (httpStatus(err) === 410) reason = 'gone';
      else [reason, error] = ['error', err];
    } finally {
      clearTimeout(watchdog);
      this.endWatch = undefined;
    }
    if (reason !== 'error') this.missing = false;
    // 410 Gone is the server's normal way to say "list again", not a failure: relist at once.
    return {
      reason,
      error,
      healthy: reason === 'gone' || events > 0 || performance.now() - started >= HEALTHY_WATCH_MS,
    };
  }
}
