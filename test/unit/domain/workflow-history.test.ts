import { describe, expect, it } from 'vitest';
import {
  executionSteps,
  type HistoryEventLike,
  MAX_CAUSE_LENGTH,
  readableCause,
} from '#shared/domain/workflow-history.ts';

/*
 * Histories shaped as GetExecutionHistory returns them for this project's video workflow:
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
 * (event types and their `…EventDetails` in API_HistoryEvent.html). Lambda tasks named by ARN
 * report `LambdaFunction*` events, MediaConvert's `.sync` task `Task*` events.
 */
const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:SyncFlow-dev-VideoProbe';
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

/** Builds a history with ids, previous ids and timestamps `ms` after T0, as the service does. */
const history = (...events: [number, string, Record<string, unknown>?][]): HistoryEventLike[] =>
  events.map(([ms, type, details], index) => ({
    id: index + 1,
    previousEventId: index,
    type,
    timestamp: new Date(T0 + ms),
    ...details,
  }));

const entered = (name: string) => ({ stateEnteredEventDetails: { name, input: '{}' } });
const exited = (name: string) => ({ stateExitedEventDetails: { name, output: '{}' } });
const scheduled = {
  lambdaFunctionScheduledEventDetails: { resource: FUNCTION, input: '{}', timeoutInSeconds: 180 },
};
const lambdaTask = (
  name: string,
  from: number,
  to: number,
): [number, string, Record<string, unknown>?][] => [
  [from, 'TaskStateEntered', entered(name)],
  [from + 1, 'LambdaFunctionScheduled', scheduled],
  [from + 20, 'LambdaFunctionStarted'],
  [to - 1, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: '{}' } }],
  [to, 'TaskStateExited', exited(name)],
];

describe('the steps of a video execution', () => {
  it('lists a video that went through every state, in order, with times and durations', () => {
    const events = history(
      [
        0,
        'ExecutionStarted',
        { executionStartedEventDetails: { input: '{}', roleArn: 'arn:role' } },
      ],
      ...lambdaTask('Probe', 10, 610),
      [611, 'ChoiceStateEntered', entered('IsVideo')],
      [612, 'ChoiceStateExited', exited('IsVideo')],
      [620, 'TaskStateEntered', entered('Transcode')],
      [
        621,
        'TaskScheduled',
        {
          taskScheduledEventDetails: {
            resourceType: 'mediaconvert',
            resource: 'createJob.sync',
            region: 'eu-west-1',
            parameters: '{}',
          },
        },
      ],
      [
        700,
        'TaskStarted',
        { taskStartedEventDetails: { resourceType: 'mediaconvert', resource: 'createJob.sync' } },
      ],
      [
        900,
        'TaskSubmitted',
        {
          taskSubmittedEventDetails: {
            resourceType: 'mediaconvert',
            resource: 'createJob.sync',
            output: '{}',
          },
        },
      ],
      [
        40_000,
        'TaskSucceeded',
        {
          taskSucceededEventDetails: {
            resourceType: 'mediaconvert',
            resource: 'createJob.sync',
            output: '{}',
          },
        },
      ],
      [40_010, 'TaskStateExited', exited('Transcode')],
      ...lambdaTask('Poster', 40_020, 42_020),
      ...lambdaTask('Record', 42_030, 42_230),
      ...lambdaTask('Publish', 42_240, 42_340),
      [42_350, 'SucceedStateEntered', entered('Done')],
      [42_351, 'SucceedStateExited', exited('Done')],
      [42_352, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: '{}' } }],
    );
    const steps = executionSteps(events);
    expect(steps.map((s) => [s.name, s.type, s.status, s.durationMs, s.retries])).toEqual([
      ['Probe', 'Task', 'SUCCEEDED', 600, 0],
      ['IsVideo', 'Choice', 'SUCCEEDED', 1, 0],
      ['Transcode', 'Task', 'SUCCEEDED', 39_390, 0],
      ['Poster', 'Task', 'SUCCEEDED', 2000, 0],
      ['Record', 'Task', 'SUCCEEDED', 200, 0],
      ['Publish', 'Task', 'SUCCEEDED', 100, 0],
      ['Done', 'Succeed', 'SUCCEEDED', 1, 0],
    ]);
    expect(steps[0]).toMatchObject({
      enteredAt: new Date(T0 + 10),
      exitedAt: new Date(T0 + 610),
      error: null,
    });
  });

  it('counts retries, and keeps a step that succeeded on a retry SUCCEEDED without its old error', () => {
    const throttled = {
      lambdaFunctionFailedEventDetails: {
        error: 'Lambda.TooManyRequestsException',
        cause: 'Rate Exceeded.',
      },
    };
    const steps = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        [10, 'TaskStateEntered', entered('Probe')],
        [11, 'LambdaFunctionScheduled', scheduled],
        [
          12,
          'LambdaFunctionStartFailed',
          {
            lambdaFunctionStartFailedEventDetails: { error: 'Lambda.ServiceException', cause: 'x' },
          },
        ],
        [1000, 'LambdaFunctionScheduled', scheduled],
        [1001, 'LambdaFunctionStarted'],
        [1002, 'LambdaFunctionFailed', throttled],
        [3000, 'LambdaFunctionScheduled', scheduled],
        [3001, 'LambdaFunctionStarted'],
        [
          3500,
          'LambdaFunctionSucceeded',
          { lambdaFunctionSucceededEventDetails: { output: '{}' } },
        ],
        [3501, 'TaskStateExited', exited('Probe')],
      ),
    );
    expect(steps).toEqual([
      expect.objectContaining({
        name: 'Probe',
        status: 'SUCCEEDED',
        retries: 2,
        error: null,
        durationMs: 3491,
      }),
    ]);
  });

  it('marks a caught failure FAILED with the function’s message, not its stack trace, and ends in the Fail state', () => {
    const cause = JSON.stringify({
      errorType: 'FfmpegMissingError',
      errorMessage: 'Videos cannot be transcoded on this machine: ffmpeg was not found',
      trace: ['FfmpegMissingError: Videos cannot…', '    at findFfmpeg (/var/task/index.mjs:1:2)'],
    });
    const steps = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        ...lambdaTask('Probe', 10, 500),
        [501, 'ChoiceStateEntered', entered('IsVideo')],
        [502, 'ChoiceStateExited', exited('IsVideo')],
        [510, 'TaskStateEntered', entered('Transcode')],
        [511, 'LambdaFunctionScheduled', scheduled],
        [512, 'LambdaFunctionStarted'],
        [
          900,
          'LambdaFunctionFailed',
          { lambdaFunctionFailedEventDetails: { error: 'FfmpegMissingError', cause } },
        ],
        [901, 'TaskStateExited', exited('Transcode')],
        ...lambdaTask('RecordFailure', 910, 1200),
        [1201, 'FailStateEntered', entered('Failed')],
        [
          1202,
          'ExecutionFailed',
          {
            executionFailedEventDetails: {
              error: 'VideoWorkflowFailed',
              cause: 'A step failed; the file was recorded FAILED with the reason.',
            },
          },
        ],
      ),
    );
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['Probe', 'SUCCEEDED'],
      ['IsVideo', 'SUCCEEDED'],
      ['Transcode', 'FAILED'],
      ['RecordFailure', 'SUCCEEDED'],
      ['Failed', 'FAILED'],
    ]);
    expect(steps[2]?.error).toEqual({
      error: 'FfmpegMissingError',
      cause: 'Videos cannot be transcoded on this machine: ffmpeg was not found',
    });
    expect(steps[2]?.exitedAt).toEqual(new Date(T0 + 901));
    // The Fail state never exits: it ends with the execution and says what the execution said.
    expect(steps[4]).toMatchObject({
      type: 'Fail',
      exitedAt: null,
      durationMs: 1,
      error: {
        error: 'VideoWorkflowFailed',
        cause: 'A step failed; the file was recorded FAILED with the reason.',
      },
    });
  });

  it('names a task timeout, and a step cut short by the execution’s own timeout or a stop', () => {
    const timedOutTask = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        [10, 'TaskStateEntered', entered('Poster')],
        [11, 'LambdaFunctionScheduled', scheduled],
        [12, 'LambdaFunctionStarted'],
        [
          180_012,
          'LambdaFunctionTimedOut',
          { lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout' } },
        ],
        [180_013, 'TaskStateExited', exited('Poster')],
      ),
    );
    expect(timedOutTask[0]).toMatchObject({
      status: 'FAILED',
      error: { error: 'States.Timeout', cause: null },
    });

    const timedOutExecution = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        [10, 'TaskStateEntered', entered('Transcode')],
        [
          11,
          'TaskScheduled',
          {
            taskScheduledEventDetails: { resourceType: 'mediaconvert', resource: 'createJob.sync' },
          },
        ],
        [
          60_000,
          'ExecutionTimedOut',
          {
            executionTimedOutEventDetails: {
              cause: 'The execution ran for longer than 12600 seconds.',
            },
          },
        ],
      ),
    );
    expect(timedOutExecution[0]).toMatchObject({
      name: 'Transcode',
      status: 'FAILED',
      exitedAt: null,
      durationMs: 59_990,
      error: { error: 'States.Timeout', cause: 'The execution ran for longer than 12600 seconds.' },
    });

    const aborted = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        [10, 'TaskStateEntered', entered('Transcode')],
        [20, 'ExecutionAborted', { executionAbortedEventDetails: {} }],
      ),
    );
    expect(aborted[0]).toMatchObject({
      status: 'FAILED',
      error: { error: 'Aborted', cause: null },
    });
  });

  it('shows the step that runs now as RUNNING, with no end and no duration yet', () => {
    const steps = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        ...lambdaTask('Probe', 10, 500),
        [501, 'ChoiceStateEntered', entered('IsVideo')],
        [502, 'ChoiceStateExited', exited('IsVideo')],
        [510, 'TaskStateEntered', entered('Transcode')],
        [511, 'LambdaFunctionScheduled', scheduled],
        [512, 'LambdaFunctionStarted'],
      ),
    );
    expect(steps.at(-1)).toEqual({
      name: 'Transcode',
      type: 'Task',
      status: 'RUNNING',
      enteredAt: new Date(T0 + 510),
      exitedAt: null,
      durationMs: null,
      retries: 0,
      error: null,
    });
  });

  it('reads the emulator’s history too: Lambda tasks as Task* events, no previous ids', () => {
    // As MiniStack 1.5.x records a Lambda task named by ARN (docs/video.md, emulator section).
    const events: HistoryEventLike[] = [
      { id: 1, type: 'ExecutionStarted', timestamp: new Date(T0) },
      { id: 2, type: 'TaskStateEntered', timestamp: new Date(T0 + 5), ...entered('Probe') },
      {
        id: 3,
        type: 'TaskScheduled',
        timestamp: new Date(T0 + 6),
        taskScheduledEventDetails: { resourceType: 'lambda', resource: FUNCTION },
      } as HistoryEventLike,
      {
        id: 4,
        type: 'TaskFailed',
        timestamp: new Date(T0 + 50),
        taskFailedEventDetails: {
          error: 'Runtime.HandlerError',
          cause: 'boom',
          resource: FUNCTION,
        },
      } as HistoryEventLike,
      {
        id: 5,
        type: 'TaskScheduled',
        timestamp: new Date(T0 + 60),
        taskScheduledEventDetails: { resourceType: 'lambda', resource: FUNCTION },
      } as HistoryEventLike,
      {
        id: 6,
        type: 'TaskSucceeded',
        timestamp: new Date(T0 + 90),
        taskSucceededEventDetails: { output: '{}', resource: FUNCTION },
      } as HistoryEventLike,
      { id: 7, type: 'TaskStateExited', timestamp: new Date(T0 + 91), ...exited('Probe') },
    ];
    expect(executionSteps(events)).toEqual([
      expect.objectContaining({ name: 'Probe', status: 'SUCCEEDED', retries: 1, durationMs: 86 }),
    ]);
  });

  it('makes a step of each entry into a state entered twice, and ignores an exit it never saw entered', () => {
    const steps = executionSteps(
      history(
        [0, 'ExecutionStarted'],
        [1, 'TaskStateExited', exited('Ghost')],
        [2, 'WaitStateEntered', entered('Later')],
        [1002, 'WaitStateExited', exited('Later')],
        [1003, 'WaitStateEntered', entered('Later')],
        [2003, 'WaitStateExited', exited('Later')],
      ),
    );
    expect(steps.map((s) => [s.name, s.type, s.durationMs])).toEqual([
      ['Later', 'Wait', 1000],
      ['Later', 'Wait', 1000],
    ]);
  });
});

describe('a failure’s cause', () => {
  it('keeps a sentence, takes a Lambda error’s message, and cuts a long one', () => {
    expect(readableCause('The execution ran too long.')).toBe('The execution ran too long.');
    expect(readableCause(JSON.stringify({ errorMessage: 'bad', trace: ['at x'] }))).toBe('bad');
    expect(readableCause('')).toBeNull();
    expect(readableCause(undefined)).toBeNull();
    const long = readableCause('x'.repeat(5000));
    expect(long).toHaveLength(MAX_CAUSE_LENGTH);
    expect(long?.endsWith('…')).toBe(true);
  });
});
