// The wait helper for test files. The one implementation lives in cluster/wait.ts, because
// the control plane launcher waits with it too; tests import it from here.
export { sleep, waitFor, type WaitOptions } from '../../cluster/wait';
