// Lint as temporalio/samples-typescript does: floating promises are errors, and workflow code may not
// import Node built-ins or I/O packages (the determinism rule, enforced by a tool).
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'timers', 'stream', 'events'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'test-output/**', 'examples/**', 'bench/fixture/**', 'test/fixtures/**'] },
  {
    files: ['**/*.ts', '**/*.cts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // The codec's failure converter and redaction run inside the workflow sandbox too.
    files: ['src/workflows/**/*.ts', 'src/lifecycle/**/*.ts', 'src/graph/**/*.ts', 'src/codec/failure-converter.cts', 'src/codec/redact.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', ...nodeBuiltins, ...nodeBuiltins.map((m) => `${m}/*`)], message: 'workflow code must stay deterministic: no Node built-ins' },
            { group: ['execa', 'pino', '@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'], message: 'not allowed in workflow code' },
            { group: ['**/process/*', '**/health/*', '**/registry/*', '**/config/*', '**/cli/*', '**/temporal/*'], message: 'workflow code imports only pure modules' },
          ],
        },
      ],
    },
  },
);
