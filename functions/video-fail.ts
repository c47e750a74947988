import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { eventBridgeClient, s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import type { VideoExecutionState } from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { publishVideoOutcome } from '#shared/processing/video/publish-outcome.ts';
import { recordVideoFailure } from '#shared/processing/video/record-failure.ts';

const store = new ObjectStore(s3Client());
const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
const repository = await fileRepository();

/**
 * The video workflow's failure path: every task's Catch lands here with the error; the file
 * ends FAILED with a reason a person can read, its event goes out once, and the execution then
 * fails (so the alarm on failed executions sees it).
 */
export const fail = async (state: VideoExecutionState) => {
  logger.appendKeys({ fileId: state.job.fileId });
  logger.error('Video workflow failed', { error: state.error });
  const recorded = await recordVideoFailure(
    {
      repository,
      stat: (bucket, key) => store.stat(bucket, key),
      deleteEverything: (bucket, prefixes) => store.deleteEverything(bucket, prefixes),
    },
    state,
  );
  const published = await publishVideoOutcome({ repository, events }, state.job.fileId);
  return { ...recorded, ...published };
};

export const handler = middy(fail)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }));
