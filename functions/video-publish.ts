import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { eventBridgeClient } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import type { VideoExecutionState } from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { publishVideoOutcome } from '#shared/processing/video/publish-outcome.ts';

const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
const repository = await fileRepository();

/** The video workflow's publish task: the file's `file.*` event, once (publish-outcome.ts). */
export const publish = async (
  state: VideoExecutionState,
): Promise<{ readonly published: boolean; readonly status?: string }> => {
  logger.appendKeys({ fileId: state.job.fileId });
  const result = await publishVideoOutcome({ repository, events }, state.job.fileId);
  logger.info('Outcome published', { ...result });
  return result;
};

export const handler = middy(publish)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }));
