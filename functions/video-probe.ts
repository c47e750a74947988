import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { s3Client } from '#shared/adapters/clients.ts';
import { intEnv } from '#shared/adapters/env.ts';
import { s3RangeReader } from '#shared/adapters/s3-range-reader.ts';
import { DEFAULT_VIDEO_LIMITS, type VideoLimits } from '#shared/domain/video.ts';
import type { ProbeStepResult, VideoExecutionState } from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { probeStep } from '#shared/processing/video/probe-step.ts';

const LIMITS: VideoLimits = {
  maxDurationSeconds: intEnv('VIDEO_MAX_DURATION_SECONDS', DEFAULT_VIDEO_LIMITS.maxDurationSeconds),
  maxFrameSide: intEnv('VIDEO_MAX_FRAME_SIDE', DEFAULT_VIDEO_LIMITS.maxFrameSide),
  maxFramePixels: intEnv('VIDEO_MAX_FRAME_PIXELS', DEFAULT_VIDEO_LIMITS.maxFramePixels),
};
const s3 = s3Client();

/**
 * The video workflow's probe task (infra/constructs/video-workflow.ts): reads the original by
 * byte ranges and answers what becomes of it (shared/processing/video/probe-step.ts).
 */
export const probe = async (state: VideoExecutionState): Promise<ProbeStepResult> => {
  logger.appendKeys({ fileId: state.job.fileId });
  const result = await probeStep(
    {
      open: (job) =>
        s3RangeReader(s3, {
          bucket: job.bucket,
          key: job.key,
          ...(job.versionId && { versionId: job.versionId }),
        }),
      limits: LIMITS,
    },
    state.job,
  );
  logger.info('Probed', {
    outcome: result.outcome,
    ...('reason' in result ? { reason: result.reason } : { container: result.media.container }),
  });
  return result;
};

export const handler = middy(probe)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }));
