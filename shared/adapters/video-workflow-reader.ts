import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import {
  type ExecutionStatus,
  executionSteps,
  readableCause,
  type StepError,
  type WorkflowStep,
} from '../domain/workflow-history.ts';

/** What `GET /files/{fileId}/workflow` answers: one execution and its steps. */
export interface WorkflowView {
  readonly executionArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startedAt: Date;
  readonly stoppedAt: Date | null;
  /** The execution's own error, when it failed, timed out or was stopped. */
  readonly error: StepError | null;
  readonly steps: readonly WorkflowStep[];
  /** True when the history was longer than the events read (`maxEvents`). */
  readonly truncated: boolean;
}

/** Step Functions could not be asked (unreachable, throttled, refused): a 503, not a crash. */
export class WorkflowUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkflowUnavailableError';
  }
}

/** The most history events one page may hold (GetExecutionHistory's `maxResults`). */
const PAGE_LIMIT = 1000;

const NOT_THERE = new Set(['ExecutionDoesNotExist', 'InvalidArn']);

/**
 * Step Functions down or unreachable (no answer, a 5xx) or throttling us: the caller may try
 * again. Any other refusal (access denied, a request it finds invalid) is our bug, thrown as it
 * is, so it is logged and answered as one.
 */
const unavailable = (error: unknown): Error => {
  const { name, $fault } = error as { name?: string; $fault?: string };
  if ($fault === 'client' && !/Throttl|TooManyRequests/.test(name ?? '')) return error as Error;
  return new WorkflowUnavailableError(
    `Step Functions did not answer (${name ?? 'Error'}: ${(error as Error).message})`,
    { cause: error },
  );
};

/**
 * Reads one execution: its status (DescribeExecution) and its steps (GetExecutionHistory,
 * oldest first, page after page until `maxEvents` events, without the states' inputs and
 * outputs, which hold users' data and can be large). Undefined when there is no such execution;
 * `WorkflowUnavailableError` when Step Functions cannot be asked.
 */
export const readWorkflow = async (
  sfn: SFNClient,
  executionArn: string,
  { maxEvents }: { readonly maxEvents: number },
): Promise<WorkflowView | undefined> => {
  const described = await sfn
    .send(new DescribeExecutionCommand({ executionArn }))
    .catch((error: unknown) => {
      if (NOT_THERE.has((error as Error).name)) return undefined;
      throw unavailable(error);
    });
  if (!described) return undefined;
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          includeExecutionData: false,
          maxResults: Math.min(PAGE_LIMIT, maxEvents - events.length),
          ...(nextToken && { nextToken }),
        }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken && events.length < maxEvents);
  } catch (error) {
    throw unavailable(error);
  }
  const status = (described.status ?? 'RUNNING') as ExecutionStatus;
  return {
    executionArn,
    name: described.name ?? executionArn.slice(executionArn.lastIndexOf(':') + 1),
    status,
    startedAt: described.startDate ?? new Date(0),
    stoppedAt: described.stopDate ?? null,
    error:
      status === 'FAILED' || status === 'TIMED_OUT' || status === 'ABORTED'
        ? { error: described.error || status, cause: readableCause(described.cause) }
        : null,
    steps: executionSteps(events),
    truncated: nextToken !== undefined,
  };
};
