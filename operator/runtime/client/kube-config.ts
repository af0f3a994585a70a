// Connection reuse for @kubernetes/client-node's own (typed) clients, which tests, tools and
// benchmarks use; the runtime's requests do not go through client-node's HTTP stack
// (transport.ts) and need none of this, only settingsKey (access.ts). In 2.0.1,
// KubeConfig.applySecurityAuthentication builds a new undici Agent for every request, so every
// API call pays a TCP connect, a TLS handshake and an HTTP/2 session setup, and no connection is ever reused. The operator
// benchmark showed this as the largest CPU cost of the operator (about 40% of its busy time)
// and a major source of kube-apiserver load. client-go, by contrast, keeps one connection.
//
// `reuseConnections` keeps one dispatcher per distinct connection setting (server, proxy, CA,
// client certificate, key...) for the life of the KubeConfig. The settings are still read on
// every request, as client-node does, so a rotated certificate or CA file takes effect on the
// next request: a new dispatcher is made and the previous one is closed once its in-flight
// requests (including watches) have finished. Bearer tokens travel in headers, not in the
// dispatcher, so token rotation is unaffected.
import { createHash } from 'node:crypto';
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => Dispatcher | undefined;

/** Patches `kc` in place (and returns it) so that requests share connections. */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as {
    createDispatcher?: CreateDispatcher;
    createDispatcherOptions?: (c: unknown, o: unknown) => unknown;
  };
  const original = target.createDispatcher;
  if (typeof original !== 'function' || typeof target.createDispatcherOptions !== 'function') {
    // A client-node upgrade changed the internals this relies on: fail loudly (the unit test
    // does too) rather than silently going back to one connection per request.
    throw new Error('reuseConnections: KubeConfig.createDispatcher is missing; @kubernetes/client-node changed');
  }
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = function (this: KubeConfig, cluster: unknown, agentOptions: unknown) {
    const key = settingsKey(target.createDispatcherOptions!.call(this, cluster, agentOptions));
    if (current?.key === key) return current.dispatcher;
    const previous = current?.dispatcher;
    current = { key, dispatcher: original.call(this, cluster, agentOptions) };
    // close() lets queued and running requests finish, then releases the sockets
    previous?.close().catch(() => undefined);
    return current.dispatcher;
  };
  return kc;
}

/**
 * A digest of the dispatcher settings, Buffers (CA, certificate, key) by content. Computed on
 * every request, so it feeds the bytes to the hash as they are: turning a CA bundle into JSON
 * (an array of numbers) first cost ~2 % of the operator's CPU in the N = 1000 profile.
 */
export function settingsKey(options: unknown): string {
  const hash = createHash('sha256');
  const feed = (v: unknown): void => {
    if (v instanceof Uint8Array) {
      hash.update(`bytes:${v.byteLength}:`);
      hash.update(v);
    } else if (Array.isArray(v)) {
      hash.update('[');
      v.forEach(feed);
      hash.update(']');
    } else if (v && typeof v === 'object') {
      hash.update('{');
      for (const key of Object.keys(v).sort()) {
        hash.update(`${JSON.stringify(key)}:`);
        feed((v as Record<string, unknown>)[key]);
      }
      hash.update('}');
    } else {
      hash.update(typeof v === 'function' ? `fn:${v.toString()}` : `${JSON.stringify(v) ?? 'undefined'},`);
    }
  };
  feed(options);
  return hash.digest('hex');
}
