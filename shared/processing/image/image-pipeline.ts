import type { KindPipeline } from '../kind-pipeline.ts';
import { DEFAULT_PIPELINE_LIMITS, type PipelineLimits, runPipeline } from '../pipeline.ts';

/**
 * The image kind: the shared checks, then sharp's metadata and previews; bytes that are not an
 * image are REJECTED (pipeline.ts).
 */
export const imagePipeline =
  (limits: PipelineLimits = DEFAULT_PIPELINE_LIMITS): KindPipeline =>
  async ({ file, open }) => {
    const object = await open();
    const result = await runPipeline(
      object.body,
      {
        contentType: file.declaredContentType,
        size: file.declaredSize,
        checksumSha256: file.checksumSha256,
      },
      limits,
      object.contentLength,
    );
    if (result.status !== 'PROCESSED') return result;
    return {
      ...result,
      derivatives: result.derivatives.map((d) => ({
        name: d.name,
        contentType: d.contentType,
        size: d.data.length,
        data: d.data,
        width: d.width,
        height: d.height,
      })),
    };
  };
