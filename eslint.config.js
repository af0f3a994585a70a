// Lint rules for every TypeScript and JavaScript file of the project (`npm run lint`, run by
// `npm test`). typescript-eslint's recommended set on top of ESLint's; formatting is Prettier's
// job, so eslint-config-prettier switches off the stylistic rules that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'imports/',
      'bundle/',
      'envs/*/',
      'node_modules/',
      '.build/',
      '.cache/',
      '.cluster/',
      'build/',
      'coverage/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Scripts and configs in plain JavaScript run on Node.
  { files: ['**/*.mjs', '**/*.cjs', '**/*.js'], languageOptions: { globals: globals.node } },
  {
    // Tests, benchmarks and the test cluster's launcher read manifests, log lines and API answers
    // as untyped JSON; the shipped code (operator/, constructs/, main.ts) must type what it reads.
    files: ['test/**', 'bench/**', 'cluster/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    rules: {
      // `_`-prefixed parameters are deliberately unused (callbacks with a fixed shape).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A `let` read by a shutdown handler declared before the value exists is not a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  prettier,
);
