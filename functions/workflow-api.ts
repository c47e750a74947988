import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callersFile, notFound } from '#shared/adapters/callers-file.ts';
import { sfnClient } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { cors, httpErrors, json, strictQuery } from '#shared/adapters/http.ts';
import {
  readWorkflow,
  WorkflowUnavailableError,
  type WorkflowView,
} from '#shared/adapters/video-workflow-reader.ts';
import { executionArnPrefix } from '#shared/adapters/video-workflow-starter.ts';
import { HttpError } from '#shared/domain/errors.ts';
import { logger, metrics, tracer } from '#shared/observability/powertools.ts';

/** The video state machine: only its executions are read (and the function may read no other). */
const VIDEO_EXECUTIONS = executionArnPrefix(requireEnv('STATE_MACHINE_ARN'));
/**
 * The most history events read for one answer: a video's execution has about 30 (a few more
 * per retry), so this only stops a runaway history from making the answer slow and large.
 */
const WORKFLOW_MAX_EVENTS = intEnv('WORKFLOW_MAX_EVENTS', 1000);

// Opened during init (a failure fails the cold start), so no request waits for the driver.
const repository = await fileRepository();

const noWorkflow = (fileId: string, why: string): HttpError =>
  new HttpError('NOT_FOUND', `File ${JSON.stringify(fileId)} has no workflow to show: ${why}`);

const workflowBody = (fileId: string, view: WorkflowView) => ({
  fileId,
  executionArn: view.executionArn,
  name: view.name,
  status: view.status,
  startedAt: view.startedAt.toISOString(),
  stoppedAt: view.stoppedAt?.toISOString() ?? null,
  error: view.error,
  truncated: view.truncated,
  steps: view.steps.map((step) => ({
    name: step.name,
    type: step.type,
    status: step.status,
    enteredAt: step.enteredAt.toISOString(),
    exitedAt: step.exitedAt?.toISOString() ?? null,
    durationMs: step.durationMs,
    retries: step.retries,
    error: step.error,
  })),
});

/**
 * `GET /files/{fileId}/workflow`: the Step Functions execution of the caller's video's current
 * (or last) run and its steps. Another user's file answers the files routes' one 404; a file
 * that is not a video, or that no execution took yet, a 404 that says so; Step Functions not
 * answering, a 503 with `Retry-After`.
 */
export const getWorkflow = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(repository, event);
  if (file.status === 'DELETED') throw notFound(file.fileId);
  if (file.kind !== 'video') throw noWorkflow(file.fileId, 'only videos and audio files have one');
  const executionArn = await repository.videoExecutionOf(file.fileId);
  // An execution of another state machine (one the stack has since replaced) is not ours to read.
  if (!executionArn?.startsWith(VIDEO_EXECUTIONS)) {
    throw noWorkflow(file.fileId, 'it has not been handed to the video workflow');
  }
  let view: WorkflowView | undefined;
  try {
    view = await readWorkflow(sfnClient(), executionArn, { maxEvents: WORKFLOW_MAX_EVENTS });
  } catch (error) {
    if (!(error instanceof WorkflowUnavailableError)) throw error;
    throw new HttpError(
      'UNAVAILABLE',
      "The file's workflow cannot be read right now: Step Functions did not answer. Try again shortly.",
      { cause: error, headers: { 'Retry-After': '5' } },
    );
  }
  if (!view) throw noWorkflow(file.fileId, 'its execution is not known to Step Functions');
  return json(200, workflowBody(file.fileId, view));
};

/**
 * The workflow route, a function of its own: the Step Functions client would take files-api,
 * which every list and read of the console goes through, over its bundle size (docs/benchmarks.md,
 * "bundle"), for a view a person opens now and then. It may read the database and the video
 * state machine's executions, nothing more.
 */
export const handler = middy(getWorkflow)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors())
  .use(strictQuery({ 'GET /files/{fileId}/workflow': [] }));
