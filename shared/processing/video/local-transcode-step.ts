import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POSTER_FRAMES, type TranscodePlan, WEB_RENDITION } from '../../domain/video.ts';
import {
  posterFrameKey,
  renditionKey,
  type TranscodeStepResult,
  type VideoJob,
} from '../../domain/video-workflow.ts';
import { transcodeLocally } from './transcode-local.ts';

/** The metadata a derivative carries in S3 (the same name process-upload.ts gives images). */
export const SOURCE_VERSION_METADATA = 'source-version-id';

export interface LocalTranscodeStepDeps {
  /** Copies the job's object version to a local file (the local stage's files are small). */
  readonly fetchSource: (job: VideoJob, path: string) => Promise<void>;
  readonly putFile: (
    bucket: string,
    key: string,
    path: string,
    contentType: string,
    metadata: Record<string, string>,
  ) => Promise<unknown>;
  readonly putObject: (
    bucket: string,
    key: string,
    body: Buffer,
    contentType: string,
    metadata: Record<string, string>,
  ) => Promise<unknown>;
  /** Tells the progress function how far the run is (0–100), at most every few seconds. */
  readonly reportProgress: (job: VideoJob, percent: number) => Promise<void>;
  readonly env?: NodeJS.ProcessEnv;
  readonly scratchDir?: string;
  /** Milliseconds between two progress reports. */
  readonly progressIntervalMs: number;
}

/**
 * The local stage's transcode task: what MediaConvert does in AWS, with ffmpeg on this machine,
 * writing the same objects (the rendition, the poster frames) under the file's `derived/` prefix.
 * Progress goes out as the run goes; a failed report never stops the run.
 */
export const localTranscodeStep = async (
  deps: LocalTranscodeStepDeps,
  job: VideoJob,
  plan: TranscodePlan,
): Promise<TranscodeStepResult> => {
  const outDir = await mkdtemp(join(deps.scratchDir ?? tmpdir(), 'syncflow-video-'));
  try {
    let lastReport = 0;
    let reporting: Promise<void> = Promise.resolve();
    const report = (share: number) => {
      const now = Date.now();
      if (now - lastReport < deps.progressIntervalMs || share >= 1) return;
      lastReport = now;
      // Never awaited by ffmpeg's reader: reports run one after another, beside the transcode.
      reporting = reporting.then(() =>
        deps.reportProgress(job, Math.floor(share * 100)).catch(() => undefined),
      );
    };
    const input = join(outDir, 'source');
    await deps.fetchSource(job, input);
    const result = await transcodeLocally({
      input,
      outDir,
      plan,
      onProgress: report,
      ...(deps.env && { env: deps.env }),
    });
    await reporting;
    const metadata: Record<string, string> = job.versionId
      ? { [SOURCE_VERSION_METADATA]: job.versionId }
      : {};
    await deps.putFile(
      job.bucket,
      renditionKey(job.ownerId, job.fileId),
      result.rendition,
      WEB_RENDITION.contentType,
      metadata,
    );
    for (const [index, name] of result.frames.entries()) {
      await deps.putObject(
        job.bucket,
        posterFrameKey(job.ownerId, job.fileId, index),
        await readFile(join(outDir, name)),
        'image/jpeg',
        metadata,
      );
    }
    if (result.frames.length === 0) {
      throw new Error(`ffmpeg wrote no poster frame under ${POSTER_FRAMES.prefix}`);
    }
    return { jobId: 'local' };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
};
