// Test order for jest (jest.config.cjs `testSequencer`): jest's own order, except that the
// suites that run real pods come as one block, right after node-tier.test.ts.
// Only one node tier runs per machine. node-tier.test.ts starts its own; the other real-pod
// suites share one through test/support/node-cluster.ts, which keeps it up for 30 s after the
// last of them lets go. Run one after another (one jest worker, as on 2 cores), this order lets
// them share one start and one image load, and node-tier.test.ts neither waits for that shared
// tier to idle out nor has it start right after its own stop (its last test checks the
// machine-wide state then).
import { readFileSync } from 'node:fs';
import testSequencer from '@jest/test-sequencer';

const Sequencer = testSequencer.default ?? testSequencer;

const text = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

class NodeSuitesTogether extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const ownTier = sorted.filter(
      (t) => /tier: 'node'/.test(text(t.path)) && !/acquireNodeCluster\(/.test(text(t.path)),
    );
    const shared = sorted.filter((t) => /acquireNodeCluster\(/.test(text(t.path)));
    const rest = sorted.filter((t) => !ownTier.includes(t) && !shared.includes(t));
    return [...ownTier, ...shared, ...rest];
  }
}

export default NodeSuitesTogether;
