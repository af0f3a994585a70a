// Stops the control plane that global-setup.ts started (same process, same globalThis), and
// the shared node tier's server if a suite started one (test/support/node-cluster.ts).
import type { ControlPlane } from '../../cluster/controlplane';
import { stopNodeCluster } from '../support/node-cluster';

export default async function globalTeardown(): Promise<void> {
  await stopNodeCluster();
  const cp = (globalThis as { __TEST_CONTROL_PLANE__?: ControlPlane }).__TEST_CONTROL_PLANE__;
  if (!cp) return;
  await cp.stop();
  (globalThis as { __TEST_CONTROL_PLANE__?: ControlPlane }).__TEST_CONTROL_PLANE__ = undefined;
}
