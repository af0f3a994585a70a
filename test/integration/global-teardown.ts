// Stops the control plane that global-setup.ts started (same process, same globalThis).
import type { ControlPlane } from '../../cluster/controlplane';

export default async function globalTeardown(): Promise<void> {
  const cp = (globalThis as { __TEST_CONTROL_PLANE__?: ControlPlane }).__TEST_CONTROL_PLANE__;
  if (!cp) return;
  await cp.stop();
  (globalThis as { __TEST_CONTROL_PLANE__?: ControlPlane }).__TEST_CONTROL_PLANE__ = undefined;
}
