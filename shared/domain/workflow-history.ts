/**
 * A Step Functions execution's history turned into the steps a person reads: which state ran,
 * when, how long, how it ended, and how often it was retried. Pure: the events come from
 * `GetExecutionHistory` (shared/adapters/video-workflow-reader.ts), in the service's order.
 *
 * The event types and their detail fields are AWS's:
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
 * A Task that names a Lambda function by ARN (this project's tasks) reports its attempts as
 * `LambdaFunctionScheduled/Started/Succeeded/Failed/TimedOut`; a service integration (the
 * MediaConvert `.sync` task) as `TaskScheduled/Started/Submitted/Succeeded/Failed/TimedOut`; the
 * emulator reports Lambda tasks as `Task*` too (docs/video.md). Both families are read alike.
 */

/** What a failure said, as Step Functions names it (`States.Timeout`, an error class…). */
export interface StepError {
  readonly error: string;
  readonly cause: string | null;
}

/** The fields of a history event read here (the SDK's `HistoryEvent` has these and more). */
export interface HistoryEventLike {
  readonly id?: number;
  readonly type?: string;
  readonly timestamp?: Date;
  readonly stateEnteredEventDetails?: { readonly name?: string };
  readonly stateExitedEventDetails?: { readonly name?: string };
}

export const EXECUTION_STATUSES = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export type StepStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface WorkflowStep {
  /** The state's name in the definition (`Probe`, `Transcode`…). */
  readonly name: string;
  /** `Task`, `Choice`, `Pass`, `Wait`, `Succeed`, `Fail`, `Map` or `Parallel`. */
  readonly type: string;
  readonly status: StepStatus;
  readonly enteredAt: Date;
  /** Null while it runs, and for a state the execution ended in (a `Fail` state, a timeout). */
  readonly exitedAt: Date | null;
  /** Milliseconds from entered to exited (or to the execution's end); null while it runs. */
  readonly durationMs: number | null;
  /** How many times the state's work was tried again after a failure (its `Retry`). */
  readonly retries: number;
  /** The last failure, when the step failed (caught or not). */
  readonly error: StepError | null;
}

/** The longest cause kept: a sentence for a person, not a payload. */
export const MAX_CAUSE_LENGTH = 1000;

const ATTEMPT_STARTS = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'ActivityScheduled']);
const ATTEMPT_SUCCESSES = new Set([
  'LambdaFunctionSucceeded',
  'TaskSucceeded',
  'ActivitySucceeded',
]);
/** Each with its details under `<lowerCamelType>EventDetails` holding `error` and `cause`. */
const ATTEMPT_FAILURES = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionScheduleFailed',
  'LambdaFunctionStartFailed',
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'ActivityFailed',
  'ActivityTimedOut',
  'ActivityScheduleFailed',
]);
const EXECUTION_ENDS = new Set([
  'ExecutionSucceeded',
  'ExecutionFailed',
  'ExecutionTimedOut',
  'ExecutionAborted',
]);

const detailsOf = (event: HistoryEventLike): Record<string, unknown> | undefined => {
  const type = event.type ?? '';
  // Each type keeps its details under its own name: `lambdaFunctionFailedEventDetails`…
  const key = `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
  const details = (event as Readonly<Record<string, unknown>>)[key];
  return details && typeof details === 'object' ? (details as Record<string, unknown>) : undefined;
};

/**
 * A Lambda error's cause is the function's error as JSON, with its stack trace: only its
 * message is for the user (a trace names our files and lines). Anything else is kept as it is,
 * cut to `MAX_CAUSE_LENGTH`.
 */
export const readableCause = (cause: unknown): string | null => {
  if (typeof cause !== 'string' || cause === '') return null;
  let text = cause;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) {
      text = String((parsed as { errorMessage: unknown }).errorMessage);
    }
  } catch {
    // Not JSON: a sentence already.
  }
  return text.length > MAX_CAUSE_LENGTH ? `${text.slice(0, MAX_CAUSE_LENGTH - 1)}…` : text;
};

const errorOf = (event: HistoryEventLike, fallback: string): StepError => {
  const details = detailsOf(event);
  const error =
    typeof details?.error === 'string' && details.error !== '' ? details.error : fallback;
  return { error, cause: readableCause(details?.cause) };
};

interface OpenStep {
  name: string;
  type: string;
  enteredAt: Date;
  attempts: number;
  /** The last attempt's failure, cleared by a later success. */
  failure: StepError | null;
}

const close = (
  step: OpenStep,
  at: Date | null,
  status: StepStatus,
  end: Date | null,
): WorkflowStep => ({
  name: step.name,
  type: step.type,
  status,
  enteredAt: step.enteredAt,
  exitedAt: at,
  durationMs: end ? Math.max(0, end.getTime() - step.enteredAt.getTime()) : null,
  retries: Math.max(0, step.attempts - 1),
  error: status === 'FAILED' ? step.failure : null,
});

/**
 * The steps of an execution, in the order they were entered, from its history events (oldest
 * first). A state entered again (a loop) is a step each time. A step whose last attempt failed
 * is FAILED even when a `Catch` led on (its error says why); a step still open when the
 * execution ended is FAILED with the execution's error (a `Fail` state, a timeout, an abort);
 * one still open while the execution runs is RUNNING.
 */
export const executionSteps = (events: readonly HistoryEventLike[]): WorkflowStep[] => {
  const steps: (WorkflowStep | OpenStep)[] = [];
  // Open steps, newest last: Parallel and Map states hold steps of their branches inside them.
  const open: OpenStep[] = [];
  const ended = (step: WorkflowStep | OpenStep): step is WorkflowStep => 'status' in step;

  for (const event of events) {
    const type = event.type ?? '';
    const at = event.timestamp ?? new Date(0);
    if (type.endsWith('StateEntered')) {
      const step: OpenStep = {
        name: event.stateEnteredEventDetails?.name ?? '?',
        type: type.slice(0, -'StateEntered'.length),
        enteredAt: at,
        attempts: 0,
        failure: null,
      };
      steps.push(step);
      open.push(step);
    } else if (type.endsWith('StateExited')) {
      const name = event.stateExitedEventDetails?.name;
      const index = open.findLastIndex((step) => step.name === name);
      const step = open[index];
      if (!step) continue;
      open.splice(index, 1);
      steps[steps.indexOf(step)] = close(step, at, step.failure ? 'FAILED' : 'SUCCEEDED', at);
    } else if (ATTEMPT_STARTS.has(type)) {
      const step = open.at(-1);
      if (step) step.attempts += 1;
    } else if (ATTEMPT_SUCCESSES.has(type)) {
      const step = open.at(-1);
      if (step) step.failure = null;
    } else if (ATTEMPT_FAILURES.has(type)) {
      const step = open.at(-1);
      if (step) step.failure = errorOf(event, type);
    } else if (EXECUTION_ENDS.has(type)) {
      const failure =
        type === 'ExecutionTimedOut'
          ? errorOf(event, 'States.Timeout')
          : type === 'ExecutionAborted'
            ? errorOf(event, 'Aborted')
            : errorOf(event, 'States.Runtime');
      for (const step of open.splice(0)) {
        const status = type === 'ExecutionSucceeded' ? 'SUCCEEDED' : 'FAILED';
        step.failure ??= failure;
        steps[steps.indexOf(step)] = close(step, null, status, at);
      }
    }
  }
  return steps.map((step) => (ended(step) ? step : close(step, null, 'RUNNING', null)));
};
