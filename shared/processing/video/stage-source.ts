import { transcodeSourceKey, type VideoJob } from '../../domain/video-workflow.ts';

export interface StageSourceDeps {
  /** Copies one version of an object to another key (VersionCopier.copyVersion). */
  readonly copyVersion: (
    bucket: string,
    source: { readonly key: string; readonly versionId?: string; readonly size: number },
    toKey: string,
  ) => Promise<{ readonly versionId?: string }>;
}

/** What the stage step leaves for the transcode: the copy MediaConvert reads. */
export interface StageSourceResult {
  readonly key: string;
}

/**
 * The MediaConvert path's first step after the probe: copies the version the processor checked
 * (the job's `versionId`) to the run's private key under `derived/` ({@link transcodeSourceKey}),
 * the key the job's input names. MediaConvert cannot be given a version, and reading the
 * original's key would read whatever was sent there last.
 */
export const stageSourceStep = async (
  deps: StageSourceDeps,
  job: VideoJob,
): Promise<StageSourceResult> => {
  if (!job.versionId) {
    // The bucket is versioned: an original without a version is not one we checked.
    throw new Error(`The job names no version of s3://${job.bucket}/${job.key} to transcode`);
  }
  const key = transcodeSourceKey(job);
  await deps.copyVersion(
    job.bucket,
    { key: job.key, versionId: job.versionId, size: job.size },
    key,
  );
  return { key };
};
