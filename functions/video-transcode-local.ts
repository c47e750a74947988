import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import { eventBridgeClient, s3Client } from '#shared/adapters/clients.ts';
import { intEnv } from '#shared/adapters/env.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import {
  LOCAL_PROGRESS_DETAIL_TYPE,
  LOCAL_PROGRESS_SOURCE,
  PROGRESS_INTERVAL_MS,
  type TranscodeStepResult,
  type VideoExecutionState,
} from '#shared/domain/video-workflow.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';
import { FfmpegFailedError } from '#shared/processing/video/ffmpeg.ts';
import { localTranscodeStep } from '#shared/processing/video/local-transcode-step.ts';

const INTERVAL_MS = intEnv('VIDEO_PROGRESS_INTERVAL_MS', PROGRESS_INTERVAL_MS);
const store = new ObjectStore(s3Client());
const eventBridge = eventBridgeClient();

/**
 * The local stage's transcode task (MediaConvert's stand-in): ffmpeg on this machine reads a
 * copy of the original and writes the rendition and the poster frames. Progress goes
 * to the default bus shaped for the same rule as MediaConvert's status updates. Without ffmpeg
 * it fails with FfmpegMissingError, whose message the failure path puts on the record.
 */
export const transcode = async (state: VideoExecutionState): Promise<TranscodeStepResult> => {
  const { job, probe } = state;
  logger.appendKeys({ fileId: job.fileId });
  if (probe?.outcome !== 'VIDEO')
    throw new Error('The transcode task ran for a file that is not a video');
  const result = await localTranscodeStep(
    {
      fetchSource: async (j, path) => {
        const object = await store.open(j.bucket, j.key, j.versionId);
        await pipeline(Readable.from(object.body), createWriteStream(path));
      },
      putFile: (...args) => store.putFile(...args),
      putObject: (...args) => store.put(...args),
      reportProgress: async (j, percent) => {
        await eventBridge.send(
          new PutEventsCommand({
            Entries: [
              {
                Source: LOCAL_PROGRESS_SOURCE,
                DetailType: LOCAL_PROGRESS_DETAIL_TYPE,
                Detail: JSON.stringify({
                  fileId: j.fileId,
                  objectVersion: j.objectVersion,
                  percent,
                }),
              },
            ],
          }),
        );
      },
      progressIntervalMs: INTERVAL_MS,
    },
    job,
    probe.plan,
  ).catch((error: unknown) => {
    // ffmpeg's own words are for the operator: the record gets a sentence (record-failure.ts).
    if (error instanceof FfmpegFailedError) {
      logger.error('ffmpeg failed', { exitCode: error.exitCode, output: error.output });
    }
    throw error;
  });
  logger.info('Transcoded', { jobId: result.jobId });
  return result;
};

export const handler = middy(transcode)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }));
