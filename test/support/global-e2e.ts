import { existsSync, readFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import {
  LOCAL_JSON,
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

/** The stack `npm start` left running, if it still answers. */
const runningLocalStack = async (): Promise<LocalStackInfo | undefined> => {
  if (!existsSync(LOCAL_JSON)) return undefined;
  const info = JSON.parse(readFileSync(LOCAL_JSON, 'utf8')) as LocalStackInfo;
  try {
    const health = await fetch(`${info.restUrl}health`, { signal: AbortSignal.timeout(3000) });
    return health.ok ? info : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The stack the end-to-end suite runs against, chosen by SYNCFLOW_TARGET. `local` (the default)
 * reuses a running `npm start` or starts a stack of its own on free loopback ports.
 */
export async function setup(project: TestProject): Promise<void> {
  const target = process.env.SYNCFLOW_TARGET ?? 'local';
  if (target !== 'local') {
    throw new Error(`SYNCFLOW_TARGET=${target} is not supported yet; only "local" is`);
  }
  const running = await runningLocalStack();
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
