import type { VideoStart } from '../../adapters/video-workflow-starter.ts';
import type { VideoJob } from '../../domain/video-workflow.ts';
import { checkWork } from '../check-upload.ts';
import type { KindPipeline } from '../kind-pipeline.ts';

export interface VideoPipelineDeps {
  /** Starts the file version's execution of the video state machine (or finds it started). */
  readonly start: (job: VideoJob) => Promise<VideoStart>;
  /**
   * Keeps the execution on the file's record (`GET /files/{fileId}/workflow` reads it): a
   * reprocess's execution is named after its request, which the record does not keep.
   */
  readonly noteExecution: (
    fileId: string,
    objectVersion: string,
    executionArn: string,
  ) => Promise<void>;
}

/**
 * The video kind (video and audio files): the checks every kind makes (size, SHA-256, declared
 * type against the bytes), then the file is handed to the video state machine, which probes,
 * transcodes, makes the poster and records and publishes the end (docs/video.md). The probe
 * decides from the bytes: a file declared as media that is not is REJECTED there. The file
 * stays PROCESSING until the workflow ends it.
 */
export const videoPipeline =
  (deps: VideoPipelineDeps): KindPipeline =>
  async (work) => {
    const checked = await checkWork(work);
    if (!checked.ok) {
      return { ...checked.common, status: checked.status, reason: checked.reason };
    }
    const { file } = work;
    if (file.objectVersion === null) {
      // startProcessing always sets it: a record without one was not claimed by this run.
      throw new Error(`File ${file.fileId} is PROCESSING without a claimed object version`);
    }
    const started = await deps.start({
      fileId: file.fileId,
      ownerId: file.ownerId,
      bucket: work.bucket,
      key: file.key,
      ...(work.versionId && { versionId: work.versionId }),
      objectVersion: file.objectVersion,
      size: checked.common.size,
      contentType: checked.common.contentType,
      sha256: checked.common.sha256,
      ...(work.reprocessId && { reprocessId: work.reprocessId }),
    });
    // Also when it was started already: a run that died before this write leaves it to the retry.
    await deps.noteExecution(file.fileId, file.objectVersion, started.executionArn);
    return {
      ...checked.common,
      status: 'PROCESSING',
      handedOffTo: started.executionArn,
      started: started.started,
    };
  };
