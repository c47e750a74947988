import type { TestProject } from 'vitest/node';
import type { LocalStack } from '../../scripts/lib/local-stack.ts';
import type { SoakDatabase } from '../../scripts/lib/soak/run-soak.ts';
import { resolveTarget, type Target } from './targets.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    target: Target;
    /** The suite's own local stack's database and proxy (the soak's outages); null otherwise. */
    soakDatabase: SoakDatabase | null;
    /** The local.json naming the stack (SYNCFLOW_LOCAL_JSON for the CLI and scripts); null in AWS. */
    localJson: string | null;
  }
}

let started: LocalStack | undefined;

/** The stack the end-to-end suite runs against, chosen by SYNCFLOW_TARGET (targets.ts). */
export async function setup(project: TestProject): Promise<void> {
  const resolved = await resolveTarget(process.env, (message) => console.log(`[e2e] ${message}`));
  started = resolved.started;
  project.provide('target', resolved.target);
  project.provide('soakDatabase', resolved.database ?? null);
  project.provide('localJson', resolved.localJson ?? null);
}

export async function teardown(): Promise<void> {
  await started?.stop();
}
