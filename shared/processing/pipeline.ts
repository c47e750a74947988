import { ProcessingError } from '../domain/errors.ts';
import type { FileMetadata } from '../domain/file-record.ts';
import { checkUpload } from './check-upload.ts';
import {
  DEFAULT_IMAGE_LIMITS,
  type DerivativeImage,
  type ImageLimits,
  processImage,
} from './image.ts';
import { DEFAULT_READ_LIMITS, type ReadLimits } from './read-object.ts';

/** What the uploader said when it asked for the upload URL. */
export interface Declared {
  readonly contentType: string;
  readonly size: number;
  readonly checksumSha256: string | null;
}

export interface PipelineLimits extends ReadLimits, ImageLimits {}

export const DEFAULT_PIPELINE_LIMITS: PipelineLimits = {
  ...DEFAULT_READ_LIMITS,
  ...DEFAULT_IMAGE_LIMITS,
};

interface Common {
  readonly size: number;
  readonly sha256: string;
  /** The type the bytes show (for a text file, the declared text type). */
  readonly contentType: string;
}

export type PipelineResult =
  | (Common & {
      readonly status: 'PROCESSED';
      readonly metadata: FileMetadata;
      readonly derivatives: readonly DerivativeImage[];
    })
  | (Common & {
      readonly status: 'FAILED' | 'REJECTED';
      readonly reason: string;
      /** What a library said, for the log only: the reason is our own sentence. */
      readonly cause?: unknown;
    });

const formatBytes = (n: number): string =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`;

/**
 * The image function's work on one object, from its body stream to a result: size, SHA-256,
 * real type, checks against what was declared (bytes that are not an image are REJECTED), then
 * metadata and derivatives. A problem with the
 * file itself becomes a FAILED or REJECTED result with a reason a person can read; only errors
 * that a retry could mend (the stream breaking, say) are thrown.
 */
export const runPipeline = async (
  body: AsyncIterable<Uint8Array>,
  declared: Declared,
  limits: PipelineLimits = DEFAULT_PIPELINE_LIMITS,
  expectedSize?: number,
): Promise<PipelineResult> => {
  const checked = await checkUpload(body, declared, limits, expectedSize);
  if (!checked.ok) return { ...checked.common, status: checked.status, reason: checked.reason };
  const { content } = checked;
  const result = checked.common;
  if (content.sniffed.kind !== 'image') {
    return {
      ...result,
      status: 'REJECTED',
      reason: `The file's bytes are ${content.sniffed.description} (${content.sniffed.mime}), not an image; it was sent to be processed as an image.`,
    };
  }
  if (content.imageTooLarge) {
    return {
      ...result,
      status: 'FAILED',
      reason: `The image is ${formatBytes(content.size)}, over the ${formatBytes(limits.maxImageBytes)} limit for making previews.`,
    };
  }
  if (content.image === undefined) {
    // An image type sharp does not decode (an icon, say): stored, checked, no previews.
    return { ...result, status: 'PROCESSED', metadata: {}, derivatives: [] };
  }
  try {
    const image = await processImage(content.image, limits);
    return {
      ...result,
      status: 'PROCESSED',
      metadata: { image: image.metadata },
      derivatives: image.derivatives,
    };
  } catch (error) {
    if (error instanceof ProcessingError && error.permanent) {
      return { ...result, status: 'FAILED', reason: error.message, cause: error.cause };
    }
    throw error;
  }
};
