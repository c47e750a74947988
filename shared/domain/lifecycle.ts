import type { FileRecord } from './file-record.ts';
import { FILE_KINDS, type FileKind, isFileKind } from './kinds.ts';

/** One kind's clock: its function's timeout and its queue's visibility timeout. */
export interface KindClock {
  readonly processorTimeoutSeconds: number;
  readonly visibilityTimeoutSeconds: number;
}

/**
 * The pipeline's clock, from the stage's settings: how long a run may take, when SQS hands a
 * message out again, how often, and how long it keeps one. Every rule about a file that stopped
 * moving is derived from these, so the sweeper never ends a file that could still finish.
 */
export interface PipelineTiming {
  /** The processor's timeout: no run lasts longer. */
  readonly processorTimeoutSeconds: number;
  /** The ingest queue's visibility timeout: a message not deleted comes back after it. */
  readonly visibilityTimeoutSeconds: number;
  /** Deliveries of one message before it is parked in the DLQ. */
  readonly maxReceiveCount: number;
  /** How long the ingest queue keeps a message that nobody takes. */
  readonly queueRetentionSeconds: number;
  /** Slack on every threshold: clocks differ, schedules drift. */
  readonly graceSeconds: number;
  /**
   * Each kind's own clock (its function and queue): a file is judged by its kind's. A kind not
   * listed uses the fields above, which a stage sets to its slowest kind's.
   */
  readonly kinds?: Readonly<Partial<Record<FileKind, KindClock>>>;
}

/** The clock a file of `kind` runs by. */
export const clockFor = (timing: PipelineTiming, kind?: FileKind): KindClock =>
  (kind && timing.kinds?.[kind]) || timing;

const seconds = (n: number): number => n * 1000;

/**
 * The instants before which a file in each unfinished state can no longer move by itself, for
 * a sweep at `now`: rows older than these are ended by the sweeper (see `stuckReason`).
 */
export const stuckThresholds = (timing: PipelineTiming, now: Date, kind?: FileKind) => {
  const at = (ms: number) => new Date(now.getTime() - ms);
  const clock = clockFor(timing, kind);
  return {
    /** A run on the message's last delivery whose deadline passed: it was cut short. */
    lastAttemptDeadline: at(seconds(timing.graceSeconds)),
    /**
     * A run whose deadline passed long enough ago that every delivery left would have begun
     * (each comes back after the visibility timeout): no run is coming.
     */
    abandonedDeadline: at(
      seconds(clock.visibilityTimeoutSeconds * timing.maxReceiveCount + timing.graceSeconds),
    ),
    /** A file queued (UPLOADED) for longer than the queue keeps messages: its message is gone. */
    queuedSince: at(seconds(timing.queueRetentionSeconds + timing.graceSeconds)),
    /** An upload URL expired this long ago with nothing uploaded. */
    uploadExpiredBefore: at(seconds(timing.graceSeconds)),
  };
};

/** Why a file that stopped moving was ended, in words its owner reads (and may be emailed). */
export const STUCK_REASONS = {
  cutShort: (attempts: number): string =>
    `Processing was cut short on each of its ${attempts} attempts: the processor ran out of time or memory before it finished. Reprocess the file to try again; a file this large or complex may need a stage with more memory or a longer timeout.`,
  abandoned:
    'Processing stopped without finishing (the processor ran out of time or memory) and was not retried in time. Reprocess the file to try again.',
  neverProcessed:
    'The file was queued for processing but never processed. Reprocess the file to try again.',
  retriesSpent: (attempts: number): string =>
    `Processing failed ${attempts} times for a reason on our side and was stopped; the details are in the processor's log under this file's id. Reprocess the file to try again.`,
  expired: (expiresAt: Date): string =>
    `The upload URL expired at ${expiresAt.toISOString()} before the file arrived. Ask for a new upload URL to send it.`,
} as const;

/**
 * Why a file is stuck at `now`, or undefined when it may still move by itself. A stuck file is
 * ended FAILED by the sweeper and may be reprocessed at once by its owner.
 */
export const stuckReason = (
  file: Pick<FileRecord, 'status' | 'attempts' | 'deadline' | 'updatedAt'> &
    Partial<Pick<FileRecord, 'kind'>>,
  timing: PipelineTiming,
  now: Date,
): string | undefined => {
  const limits = stuckThresholds(timing, now, file.kind);
  if (file.status === 'PROCESSING') {
    const deadline = file.deadline ?? file.updatedAt;
    if (file.attempts >= timing.maxReceiveCount && deadline < limits.lastAttemptDeadline) {
      return STUCK_REASONS.cutShort(file.attempts);
    }
    if (deadline < limits.abandonedDeadline) return STUCK_REASONS.abandoned;
  }
  if (file.status === 'UPLOADED' && file.updatedAt < limits.queuedSince) {
    return STUCK_REASONS.neverProcessed;
  }
  return undefined;
};

/** The environment variables that carry a stage's timing to the functions that need it. */
const TIMING_ENV = {
  processorTimeoutSeconds: 'PROCESSOR_TIMEOUT_SECONDS',
  visibilityTimeoutSeconds: 'INGEST_VISIBILITY_TIMEOUT_SECONDS',
  maxReceiveCount: 'MAX_RECEIVE_COUNT',
  queueRetentionSeconds: 'INGEST_RETENTION_SECONDS',
  graceSeconds: 'SWEEP_GRACE_SECONDS',
} as const satisfies Record<Exclude<keyof PipelineTiming, 'kinds'>, string>;

/** Each kind's clock, as JSON: `{"image":{"processorTimeoutSeconds":…,…},…}`. */
const KIND_CLOCKS_ENV = 'KIND_CLOCKS';

/** A stage's timing as function environment (the CDK app sets it). */
export const timingEnvironment = (timing: PipelineTiming): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(TIMING_ENV).map(([field, name]) => [
      name,
      String(timing[field as keyof typeof TIMING_ENV]),
    ]),
  ),
  ...(timing.kinds && { [KIND_CLOCKS_ENV]: JSON.stringify(timing.kinds) }),
});

const readKindClocks = (raw: string | undefined): PipelineTiming['kinds'] => {
  if (raw === undefined) return undefined;
  const parsed: unknown = JSON.parse(raw);
  const kinds: Partial<Record<FileKind, KindClock>> = {};
  for (const [kind, clock] of Object.entries(parsed as Record<string, unknown>)) {
    const c = clock as Partial<KindClock>;
    const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (
      !isFileKind(kind) ||
      !whole(c.processorTimeoutSeconds) ||
      !whole(c.visibilityTimeoutSeconds)
    ) {
      throw new Error(`Environment variable ${KIND_CLOCKS_ENV} has a bad entry for ${kind}`);
    }
    kinds[kind] = clock as KindClock;
  }
  return kinds;
};

/** The timing a function was deployed with; a missing or bad value fails the cold start. */
export const timingFromEnvironment = (env: NodeJS.ProcessEnv = process.env): PipelineTiming => {
  const read = (name: string): number => {
    const value = Number(env[name]);
    if (env[name] === undefined || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`Environment variable ${name} must be a whole number of seconds`);
    }
    return value;
  };
  return {
    processorTimeoutSeconds: read(TIMING_ENV.processorTimeoutSeconds),
    visibilityTimeoutSeconds: read(TIMING_ENV.visibilityTimeoutSeconds),
    maxReceiveCount: read(TIMING_ENV.maxReceiveCount),
    queueRetentionSeconds: read(TIMING_ENV.queueRetentionSeconds),
    graceSeconds: read(TIMING_ENV.graceSeconds),
    ...(env[KIND_CLOCKS_ENV] !== undefined && { kinds: readKindClocks(env[KIND_CLOCKS_ENV]) }),
  };
};

/** The kinds that have a clock of their own in `timing`, in a fixed order. */
export const kindsWithClocks = (timing: PipelineTiming): FileKind[] =>
  FILE_KINDS.filter((kind) => timing.kinds?.[kind] !== undefined);
