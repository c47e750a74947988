import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import type { VideoExecutionState } from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { type RecordResult, recordVideo } from '#shared/processing/video/record-video.ts';

const store = new ObjectStore(s3Client());
// Opened during init (a failure fails the cold start), so no run waits for the driver.
const repository = await fileRepository();

/**
 * The video workflow's record task: writes the file's end state (the probe's verdict, or a
 * video's metadata, poster and rendition) by the repository's rules.
 */
export const record = async (state: VideoExecutionState): Promise<RecordResult> => {
  logger.appendKeys({ fileId: state.job.fileId });
  const result = await recordVideo(
    {
      repository,
      stat: (bucket, key) => store.stat(bucket, key),
      deleteEverything: (bucket, prefixes) => store.deleteEverything(bucket, prefixes),
    },
    state,
  );
  logger.info('Recorded', { ...result });
  return result;
};

export const handler = middy(record)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }));
