import { setPriority } from 'node:os';

/** The nice value the batch kinds (tabular data, logs) run at: below an image's, above idle. */
export const BATCH_NICE = 10;

/**
 * Lowers the CPU priority of the calling thread to {@link BATCH_NICE}. On Linux a thread's nice
 * value is its own and is inherited by the threads it starts, so called at a function's start it
 * covers the worker threads that read blocks and DuckDB's threads, started later. Where functions
 * share cores (the local stack: every function on one machine) an image uploaded behind a burst
 * of large CSV files then gets the CPU first; in AWS each function has CPUs of its own and this
 * changes nothing. False where the system refuses (the function runs on at its priority).
 */
export const yieldToInteractiveKinds = (): boolean => {
  try {
    setPriority(BATCH_NICE);
    return true;
  } catch {
    return false;
  }
};
