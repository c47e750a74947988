import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type RunningEmulator, startMinistack } from '../../scripts/lib/ministack.ts';
import { freePort } from './ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    emulatorEndpoint: string;
  }
}

let emulator: RunningEmulator | undefined;

/** A MiniStack of the test run's own on 127.0.0.1, or the one named by TEST_EMULATOR_ENDPOINT. */
export async function setup(project: TestProject): Promise<void> {
  const given = process.env.TEST_EMULATOR_ENDPOINT;
  if (given) {
    project.provide('emulatorEndpoint', given);
    return;
  }
  const port = await freePort();
  emulator = await startMinistack({
    port,
    logFile: join(tmpdir(), `syncflow-test-ministack-${port}.log`),
    dataDir: join(tmpdir(), `syncflow-test-ministack-${port}`),
  });
  project.provide('emulatorEndpoint', emulator.endpoint);
}

export async function teardown(): Promise<void> {
  await emulator?.stop();
}
