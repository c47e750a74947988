import type { Derivative } from '../../domain/file-record.ts';
import { derivedKey } from '../../domain/keys.ts';
import {
  type PosterStepResult,
  posterFrameKey,
  posterFramesPrefix,
  transcodeSourceKey,
  type VideoJob,
} from '../../domain/video-workflow.ts';
import { SOURCE_VERSION_METADATA } from './local-transcode-step.ts';
import { makePoster } from './poster.ts';

export interface PosterStepDeps {
  /** A small object's bytes, or undefined when it is not there. */
  readonly readAll: (bucket: string, key: string) => Promise<Buffer | undefined>;
  readonly put: (
    bucket: string,
    key: string,
    body: Buffer,
    contentType: string,
    metadata: Record<string, string>,
  ) => Promise<{ readonly versionId?: string }>;
  readonly deleteEverything: (bucket: string, prefixes: readonly string[]) => Promise<number>;
}

/**
 * Makes a video's poster from the frames its transcoder captured: the first frame worth showing
 * (never a black or flat one when another exists) becomes the same `preview` and `thumbnail`
 * an image has. The captures, and the transcoder's copy of the original, are removed once the
 * poster is written. A transcode that left no frame is our failure, and throws.
 */
export const posterStep = async (
  deps: PosterStepDeps,
  job: VideoJob,
  captureCount: number,
): Promise<PosterStepResult> => {
  const frames: Buffer[] = [];
  for (let index = 0; index < captureCount; index += 1) {
    const frame = await deps.readAll(job.bucket, posterFrameKey(job.ownerId, job.fileId, index));
    if (frame) frames.push(frame);
  }
  if (frames.length === 0) throw new Error('The transcoder left no frame to make a poster of');
  const poster = await makePoster(frames);
  const metadata: Record<string, string> = job.versionId
    ? { [SOURCE_VERSION_METADATA]: job.versionId }
    : {};
  const derivatives: Derivative[] = [];
  for (const image of poster.derivatives) {
    const key = derivedKey(job.ownerId, job.fileId, image.name);
    const written = await deps.put(job.bucket, key, image.data, image.contentType, metadata);
    derivatives.push({
      name: image.name,
      key,
      contentType: image.contentType,
      width: image.width,
      height: image.height,
      size: image.data.length,
      ...(written.versionId && { versionId: written.versionId }),
      ...(job.versionId && { sourceVersionId: job.versionId }),
    });
  }
  // The transcode is over: its captures and the copy of the original it read (MediaConvert's
  // path) are nobody's now.
  await deps.deleteEverything(job.bucket, [
    posterFramesPrefix(job.ownerId, job.fileId),
    transcodeSourceKey(job),
  ]);
  return { derivatives };
};
