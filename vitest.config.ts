import { defineConfig } from 'vitest/config';

/** Keeps Powertools quiet in tests: no JSON logs, EMF lines or X-Ray segments on stdout. */
const quiet = {
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

export default defineConfig({
  test: {
    env: quiet,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          env: quiet,
          // Suites that open PGlite in a hook take 5-6 s to set up on two busy cores, next to
          // esbuild bundling and DuckDB in the suites beside them; 10 s left no margin.
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          environment: 'node',
          env: quiet,
          // Synthesising the stack bundles every function with esbuild.
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-postgres.ts', 'test/support/global-emulator.ts'],
          environment: 'node',
          env: quiet,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          env: quiet,
          globalSetup: ['test/support/global-e2e.ts'],
          // Starting the stack deploys it into the emulator; files then go through real queues.
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
