import { intEnv } from '#shared/adapters/env.ts';
import { imagePipeline } from '#shared/processing/image/image-pipeline.ts';
import { kindHandler } from '#shared/processing/kind-handler.ts';
import { DEFAULT_PIPELINE_LIMITS } from '#shared/processing/pipeline.ts';

/** The image kind's function: sharp's metadata and previews (never DuckDB). */
export const handler = await kindHandler({
  kind: 'image',
  pipeline: () =>
    imagePipeline({
      maxImageBytes: intEnv('MAX_IMAGE_BYTES', DEFAULT_PIPELINE_LIMITS.maxImageBytes),
      maxPixels: intEnv('MAX_IMAGE_PIXELS', DEFAULT_PIPELINE_LIMITS.maxPixels),
    }),
});
