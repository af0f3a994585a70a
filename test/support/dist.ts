// The dist/ loader for test files. The one implementation lives in cluster/dist.ts, because
// the operator launcher reads the synthesized Deployment too; tests import it from here.
export { distDir, loadDist, type Manifest } from '../../cluster/dist';
