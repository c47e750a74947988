import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  SFNServiceException,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';
import { documented } from '../../support/openapi.ts';

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:VideoStateMachineA9E47CD5-x';
const EXECUTIONS = 'arn:aws:states:eu-west-1:123456789012:execution:VideoStateMachineA9E47CD5-x:';

stubFunctionEnv({
  CURSOR_KEY: 'unit-test-cursor-key',
  STATE_MACHINE_ARN: MACHINE,
  // Small, so the cap is reached by a test's history.
  WORKFLOW_MAX_EVENTS: '12',
});
const sfn = mockClient(SFNClient);
const filesApi = (await import('../../../functions/workflow-api.ts')).handler;

const workflowOf = async (fileId: string, ownerId: string) => {
  const event = apiEvent({
    method: 'GET',
    path: `/files/${fileId}/workflow`,
    ownerId,
    pathParameters: { fileId },
  });
  const response = documented(event, await filesApi(event, lambdaContext('workflow-api')));
  return { ...response, json: JSON.parse(response.body) };
};

/** A file of `kind` that a run of version v1 took; a video's run noted `execution`. */
const fileOf = async (ownerId: string, kind: 'video' | 'image', execution?: string) => {
  const repository = await fileRepository();
  const fileId = randomUUID();
  await repository.createPending({
    fileId,
    ownerId,
    filename: kind === 'video' ? 'clip.mp4' : 'photo.jpg',
    contentType: kind === 'video' ? 'video/mp4' : 'image/jpeg',
    size: 10,
    checksumSha256: null,
    bucket: 'uploads-bucket',
    key: uploadKey(ownerId, fileId, kind),
    uploadExpiresAt: new Date(Date.now() + 900_000),
  });
  await repository.startProcessing(fileId, {
    objectVersion: 'v1',
    versionId: 'v1',
    attempts: 1,
    deadline: new Date(Date.now() + 3_600_000),
  });
  if (execution) await repository.noteVideoExecution(fileId, 'v1', execution);
  return fileId;
};

const at = (ms: number) => new Date(Date.parse('2026-12-01T10:00:00Z') + ms);
/** The first events of a run that is transcoding now (as the emulator and AWS record them). */
const runningHistory: HistoryEvent[] = [
  { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
  {
    id: 2,
    type: 'TaskStateEntered',
    timestamp: at(10),
    stateEnteredEventDetails: { name: 'Probe' },
  },
  { id: 3, type: 'LambdaFunctionScheduled', timestamp: at(11) },
  { id: 4, type: 'LambdaFunctionStarted', timestamp: at(20) },
  { id: 5, type: 'LambdaFunctionSucceeded', timestamp: at(600) },
  {
    id: 6,
    type: 'TaskStateExited',
    timestamp: at(610),
    stateExitedEventDetails: { name: 'Probe' },
  },
  {
    id: 7,
    type: 'ChoiceStateEntered',
    timestamp: at(611),
    stateEnteredEventDetails: { name: 'IsVideo' },
  },
  {
    id: 8,
    type: 'ChoiceStateExited',
    timestamp: at(612),
    stateExitedEventDetails: { name: 'IsVideo' },
  },
  {
    id: 9,
    type: 'TaskStateEntered',
    timestamp: at(620),
    stateEnteredEventDetails: { name: 'Transcode' },
  },
  { id: 10, type: 'LambdaFunctionScheduled', timestamp: at(621) },
];

beforeAll(async () => {
  await migrate((await database()).db);
});
beforeEach(() => {
  sfn.reset();
});

describe('GET /files/{fileId}/workflow', () => {
  it("answers the owner's video with its execution and steps, read page after page", async () => {
    const execution = `${EXECUTIONS}${randomUUID()}-0123456789abcdef0123456789abcdef`;
    const fileId = await fileOf('alice', 'video', execution);
    sfn.on(DescribeExecutionCommand, { executionArn: execution }).resolves({
      executionArn: execution,
      stateMachineArn: MACHINE,
      name: execution.split(':').at(-1),
      status: 'RUNNING',
      startDate: at(0),
    });
    sfn
      .on(GetExecutionHistoryCommand, { executionArn: execution, nextToken: undefined })
      .resolves({ events: runningHistory.slice(0, 6), nextToken: 'page-2' })
      .on(GetExecutionHistoryCommand, { executionArn: execution, nextToken: 'page-2' })
      .resolves({ events: runningHistory.slice(6) });

    const response = await workflowOf(fileId, 'alice');
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({
      fileId,
      executionArn: execution,
      name: execution.split(':').at(-1),
      status: 'RUNNING',
      startedAt: at(0).toISOString(),
      stoppedAt: null,
      error: null,
      truncated: false,
    });
    expect(
      response.json.steps.map((s: { name: string; status: string }) => [s.name, s.status]),
    ).toEqual([
      ['Probe', 'SUCCEEDED'],
      ['IsVideo', 'SUCCEEDED'],
      ['Transcode', 'RUNNING'],
    ]);
    expect(response.json.steps[0]).toMatchObject({ type: 'Task', durationMs: 600, retries: 0 });
    // Users' data stays out: the history is read without the states' inputs and outputs.
    const calls = sfn.commandCalls(GetExecutionHistoryCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ includeExecutionData: false, maxResults: 12 }),
      expect.objectContaining({ includeExecutionData: false, maxResults: 6, nextToken: 'page-2' }),
    ]);
  });

  it('reads no more than its cap of events, and says the steps are cut short', async () => {
    const execution = `${EXECUTIONS}${randomUUID()}-capped`;
    const fileId = await fileOf('alice', 'video', execution);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', startDate: at(0) });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolves({ events: runningHistory.slice(0, 6), nextToken: 'more' });
    const response = await workflowOf(fileId, 'alice');
    expect(response.json.truncated).toBe(true);
    expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(2);
  });

  it('gives a failed execution’s error without the function’s stack trace', async () => {
    const execution = `${EXECUTIONS}${randomUUID()}-failed`;
    const fileId = await fileOf('alice', 'video', execution);
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      startDate: at(0),
      stopDate: at(5000),
      error: 'VideoWorkflowFailed',
      cause: 'A step failed; the file was recorded FAILED with the reason.',
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        ...runningHistory.slice(0, 10),
        {
          id: 11,
          type: 'LambdaFunctionFailed',
          timestamp: at(900),
          lambdaFunctionFailedEventDetails: {
            error: 'FfmpegFailedError',
            cause: JSON.stringify({
              errorType: 'FfmpegFailedError',
              errorMessage: 'ffmpeg could not read the video',
              trace: ['at /var/task/index.mjs:1:1'],
            }),
          },
        },
        {
          id: 12,
          type: 'TaskStateExited',
          timestamp: at(901),
          stateExitedEventDetails: { name: 'Transcode' },
        },
      ],
    });
    const response = await workflowOf(fileId, 'alice');
    expect(response.json).toMatchObject({
      status: 'FAILED',
      stoppedAt: at(5000).toISOString(),
      error: {
        error: 'VideoWorkflowFailed',
        cause: 'A step failed; the file was recorded FAILED with the reason.',
      },
    });
    expect(response.json.steps[2]).toMatchObject({
      name: 'Transcode',
      status: 'FAILED',
      error: { error: 'FfmpegFailedError', cause: 'ffmpeg could not read the video' },
    });
    expect(response.body).not.toContain('/var/task');
  });

  it("answers another user's video exactly like a file that does not exist, without asking Step Functions", async () => {
    const fileId = await fileOf('alice', 'video', `${EXECUTIONS}${randomUUID()}-secret`);
    const other = await workflowOf(fileId, 'mallory');
    const missing = await workflowOf(randomUUID(), 'mallory');
    expect(other.statusCode).toBe(404);
    expect(other.json).toEqual({
      error: { code: 'NOT_FOUND', message: `No file ${JSON.stringify(fileId)}` },
    });
    expect(missing.statusCode).toBe(404);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('answers 404 saying why for a file that is not a video, and for a video no execution took', async () => {
    const image = await fileOf('alice', 'image');
    const notVideo = await workflowOf(image, 'alice');
    expect(notVideo.statusCode).toBe(404);
    expect(notVideo.json.error.message).toMatch(/only videos and audio files have one/);

    const waiting = await fileOf('alice', 'video');
    const notHanded = await workflowOf(waiting, 'alice');
    expect(notHanded.statusCode).toBe(404);
    expect(notHanded.json.error.message).toMatch(/has not been handed to the video workflow/);

    // An execution of another machine (one the stack replaced) is not read.
    const elsewhere = await fileOf(
      'alice',
      'video',
      'arn:aws:states:eu-west-1:123456789012:execution:SomeOtherMachine:run',
    );
    expect((await workflowOf(elsewhere, 'alice')).statusCode).toBe(404);
    expect(sfn.calls()).toHaveLength(0);

    const forgotten = await fileOf('alice', 'video', `${EXECUTIONS}${randomUUID()}-gone`);
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution does not exist', $metadata: {} }));
    const gone = await workflowOf(forgotten, 'alice');
    expect(gone.statusCode).toBe(404);
    expect(gone.json.error.message).toMatch(/not known to Step Functions/);
  });

  it('answers 503 with a reason and Retry-After when Step Functions does not answer', async () => {
    const execution = `${EXECUTIONS}${randomUUID()}-down`;
    const fileId = await fileOf('alice', 'video', execution);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), {
      name: 'Error',
      code: 'ECONNREFUSED',
    });
    sfn.on(DescribeExecutionCommand).rejects(refused);
    const down = await workflowOf(fileId, 'alice');
    expect(down.statusCode).toBe(503);
    expect(down.headers?.['Retry-After']).toBe('5');
    expect(down.json.error).toEqual({
      code: 'UNAVAILABLE',
      message:
        "The file's workflow cannot be read right now: Step Functions did not answer. Try again shortly.",
    });

    // Throttled while reading the history: the same answer.
    sfn.reset();
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', startDate: at(0) });
    sfn.on(GetExecutionHistoryCommand).rejects(
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: {},
      }),
    );
    expect((await workflowOf(fileId, 'alice')).statusCode).toBe(503);
  });

  it('answers a refusal that is our own mistake (access denied) as a 500, not as a wait', async () => {
    const fileId = await fileOf('alice', 'video', `${EXECUTIONS}${randomUUID()}-denied`);
    sfn.on(DescribeExecutionCommand).rejects(
      new SFNServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'not authorized to perform: states:DescribeExecution',
        $metadata: {},
      }),
    );
    const denied = await workflowOf(fileId, 'alice');
    expect(denied.statusCode).toBe(500);
    expect(denied.json.error.code).toBe('INTERNAL');
    expect(denied.body).not.toContain('states:DescribeExecution');
  });
});
