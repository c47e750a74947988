import type { TestProject } from 'vitest/node';
import {
  findRunningLocalStack,
  type LocalStack,
  type LocalStackInfo,
  startLocalStack,
} from '../../scripts/lib/local-stack.ts';
import { freePort } from './ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: LocalStackInfo;
  }
}

let started: LocalStack | undefined;

/**
 * The stack the end-to-end suite runs against, chosen by SYNCFLOW_TARGET. `local` (the default)
 * reuses a running `npm start` or starts a stack of its own on free loopback ports.
 */
export async function setup(project: TestProject): Promise<void> {
  const target = process.env.SYNCFLOW_TARGET ?? 'local';
  if (target !== 'local') {
    throw new Error(`SYNCFLOW_TARGET=${target} is not supported yet; only "local" is`);
  }
  const running = await findRunningLocalStack();
  if (running) {
    project.provide('stack', running);
    return;
  }
  started = await startLocalStack({
    emulatorPort: await freePort(),
    pgPort: await freePort(),
    quiet: true,
    log: (message) => console.log(`[e2e] ${message}`),
  });
  project.provide('stack', started.info);
}

export async function teardown(): Promise<void> {
  await started?.stop();
}
