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
          // Handler tests start an embedded PGlite and migrate it first: seconds, more on a
          // busy machine.
          hookTimeout: 60_000,
          // npm test runs this suite beside the end-to-end suite (scripts/test-lanes.ts): tests
          // that bundle functions or start worker threads take seconds more on a busy machine.
          // The limit only catches a hang; speed is measured by the benchmarks.
          testTimeout: 30_000,
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
          // npm start itself, stopped and started again in a state folder of its own: minutes,
          // so it runs in the Data API lane, which ends well before the end-to-end suite.
          name: 'local-stack',
          include: ['test/local-stack/**/*.test.ts'],
          environment: 'node',
          env: quiet,
          testTimeout: 1_500_000,
          hookTimeout: 120_000,
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
