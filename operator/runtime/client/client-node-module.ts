// The one runtime import of @kubernetes/client-node, loaded lazily by access.ts only when the
// lean kubeconfig loader cannot handle the configuration. scripts/bundle.mjs builds it into a
// file of its own next to the operator bundle, so the operator does not even parse client-node
// (and undici) unless it needs them.
export { KubeConfig } from '@kubernetes/client-node';
