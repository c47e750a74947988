import type { FileRecord } from '../domain/file-record.ts';
import type { RunContext } from './process-upload.ts';

/**
 * Faults the local stage can inject, to prove the failure paths end to end: a file whose name
 * contains `fault-crash` kills the processor's process while it holds the file (as running out
 * of memory does) on every delivery of its upload, though not on a reprocess;
 * `fault-crash-once` does so on the first delivery only, so the retry finishes the file (the
 * soak's crash mid-file, scripts/lib/soak/); `fault-slow` holds a reprocess run for twenty
 * seconds (so a test can act while one is queued or running).
 * Only a stage with `faultInjection` (the local one,
 * refused anywhere else at synth time) sets SYNCFLOW_FAULT_INJECTION=on.
 */
export const FAULT_INJECTION_ENV = 'SYNCFLOW_FAULT_INJECTION';

export type Fault = 'crash' | 'crash-once' | 'slow';

/** The fault a file's name asks for, if any. */
export const faultFor = (filename: string): Fault | undefined => {
  // Tested first: `fault-crash-once` also contains `fault-crash`.
  if (filename.includes('fault-crash-once')) return 'crash-once';
  if (filename.includes('fault-crash')) return 'crash';
  if (filename.includes('fault-slow')) return 'slow';
  return undefined;
};

const SLOW_MS = 20_000;

/** The processor's `beforeRun` on a stage with fault injection on. */
export const injectFault = async (
  file: FileRecord,
  run: RunContext,
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): Promise<void> => {
  const fault = faultFor(file.filename);
  if (fault === 'crash' && run.reprocessId === undefined) kill();
  if (fault === 'crash-once' && run.reprocessId === undefined && run.attempts <= 1) kill();
  if (fault === 'slow' && run.reprocessId !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
  }
};

/** Whether this process may inject faults: only where the stage turned it on. */
export const faultInjectionEnabled = (env: NodeJS.ProcessEnv = process.env): boolean =>
  env[FAULT_INJECTION_ENV] === 'on';
