// ESM + TypeScript: @kubernetes/client-node is ESM-only, so the suites run as ES modules
// (jest is started with NODE_OPTIONS=--experimental-vm-modules by the npm scripts).
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  // Scripts and templates constructs import as text (constructs/text-files.d.ts).
  transform: { '^.+\\.ts$': tsJest, '^.+\\.(sh|cfg)$': '<rootDir>/scripts/jest-text-transform.cjs' },
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};
module.exports = {
  // Integration tests wait for real controllers; unit tests finish in milliseconds anyway.
  testTimeout: 180_000,
  // The real-pod suites one after another, after node-tier.test.ts (one node tier per machine).
  testSequencer: '<rootDir>/test/integration/node-sequencer.mjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
};
