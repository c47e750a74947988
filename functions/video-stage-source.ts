import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { s3Client } from '#shared/adapters/clients.ts';
import { VersionCopier } from '#shared/adapters/version-copier.ts';
import type { VideoExecutionState } from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { type StageSourceResult, stageSourceStep } from '#shared/processing/video/stage-source.ts';

const copier = new VersionCopier(s3Client());

/**
 * The video workflow's stage task (MediaConvert stages only): copies the checked version of the
 * original where the MediaConvert job reads it (shared/processing/video/stage-source.ts).
 */
export const stageSource = async (state: VideoExecutionState): Promise<StageSourceResult> => {
  logger.appendKeys({ fileId: state.job.fileId });
  const result = await stageSourceStep(
    { copyVersion: (...args) => copier.copyVersion(...args) },
    state.job,
  );
  logger.info('Source staged for the transcoder', { size: state.job.size });
  return result;
};

export const handler = middy(stageSource)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }));
