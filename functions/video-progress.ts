import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { eventBridgeClient } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import {
  type FileProgressDetail,
  type ProgressEvent,
  progressFromEvent,
  recordProgress,
} from '#shared/processing/video/progress.ts';

const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
const repository = await fileRepository();

/**
 * Receives MediaConvert's status updates (AWS) and the local transcoder's reports from the
 * default bus, records the percentage on the file and puts `file.progress` on the custom bus.
 * An event that names no file of ours is dropped.
 */
export const progress = async (event: ProgressEvent): Promise<FileProgressDetail | undefined> => {
  const update = progressFromEvent(event);
  if (!update) {
    logger.warn('Not a progress event of ours', { source: event.source });
    return undefined;
  }
  logger.appendKeys({ fileId: update.fileId });
  const detail = await recordProgress({ repository, events }, update);
  logger.debug('Progress', { percent: update.percent, published: detail !== undefined });
  return detail;
};

export const handler = middy(progress)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }));
