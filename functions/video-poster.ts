import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { s3Client } from '#shared/adapters/clients.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import type { PosterStepResult, VideoExecutionState } from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { posterStep } from '#shared/processing/video/poster-step.ts';

const store = new ObjectStore(s3Client());

/**
 * The video workflow's poster task: the first frame worth showing among the transcoder's
 * captures becomes the preview and the thumbnail (shared/processing/video/poster-step.ts).
 */
export const poster = async (state: VideoExecutionState): Promise<PosterStepResult> => {
  const { job, probe } = state;
  logger.appendKeys({ fileId: job.fileId });
  if (probe?.outcome !== 'VIDEO')
    throw new Error('The poster task ran for a file that is not a video');
  const result = await posterStep(
    {
      readAll: (bucket, key) => store.readAll(bucket, key),
      put: (...args) => store.put(...args),
      deleteEverything: (bucket, prefixes) => store.deleteEverything(bucket, prefixes),
    },
    job,
    probe.plan.captureCount,
  );
  logger.info('Poster made', { derivatives: result.derivatives.map((d) => d.name) });
  return result;
};

export const handler = middy(poster)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }));
