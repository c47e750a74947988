import { sfnClient } from '#shared/adapters/clients.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { startVideoWorkflow } from '#shared/adapters/video-workflow-starter.ts';
import { kindHandler } from '#shared/processing/kind-handler.ts';
import { videoPipeline } from '#shared/processing/video/video-pipeline.ts';

const STATE_MACHINE_ARN = requireEnv('STATE_MACHINE_ARN');
// The process's one database handle, shared with the kind's handler.
const repository = await fileRepository();

/**
 * The video kind's function (video and audio files): the shared checks, then one execution of
 * the video state machine per file version, which writes the file's end (docs/video.md). The
 * claimed file's deadline is the state machine's timeout, so the sweeper leaves a long
 * transcode alone. Loads neither sharp, DuckDB nor MediaInfo.
 */
export const handler = await kindHandler({
  kind: 'video',
  claimSeconds: intEnv('VIDEO_WORKFLOW_TIMEOUT_SECONDS', 3.5 * 3600),
  pipeline: () =>
    videoPipeline({
      start: (job) => startVideoWorkflow(sfnClient(), STATE_MACHINE_ARN, job),
      noteExecution: (fileId, objectVersion, executionArn) =>
        repository.noteVideoExecution(fileId, objectVersion, executionArn),
    }),
});
