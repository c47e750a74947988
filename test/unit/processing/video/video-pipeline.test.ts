import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VideoStart } from '#shared/adapters/video-workflow-starter.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import type { VideoJob } from '#shared/domain/video-workflow.ts';
import type { KindWork } from '#shared/processing/kind-pipeline.ts';
import { videoPipeline } from '#shared/processing/video/video-pipeline.ts';
import { makeTestMedia, type TestMedia } from '../../../support/media.ts';

let media: TestMedia;
beforeAll(async () => {
  media = await makeTestMedia(join(tmpdir(), `syncflow-video-pipeline-${process.pid}`));
}, 120_000);

/** A claimed record of `bytes` declared as `contentType`, and a work item that reads them. */
const workOf = (
  bytes: Buffer,
  contentType: string,
  extra: Partial<KindWork> = {},
  declaredSize = bytes.length,
): KindWork => {
  const fileId = randomUUID();
  const file = {
    fileId,
    ownerId: 'owner-1',
    filename: 'clip.mp4',
    declaredContentType: contentType,
    declaredSize,
    checksumSha256: null,
    bucket: 'bucket',
    key: uploadKey('owner-1', fileId, 'video'),
    kind: 'video',
    status: 'PROCESSING',
    objectVersion: 'v1',
    versionId: 'v1',
  } as unknown as FileRecord;
  return {
    file,
    bucket: 'bucket',
    versionId: 'v1',
    open: async () => ({
      body: (async function* () {
        yield bytes;
      })(),
      contentLength: bytes.length,
    }),
    ...extra,
  };
};

/** A starter that remembers its jobs and answers like Step Functions does for a name seen. */
const recordingStarter = () => {
  const jobs: VideoJob[] = [];
  const start = async (job: VideoJob): Promise<VideoStart> => {
    jobs.push(job);
    return { started: jobs.length === 1, executionArn: `arn:execution:${job.fileId}` };
  };
  const noted: string[] = [];
  const noteExecution = async (fileId: string, objectVersion: string, executionArn: string) => {
    noted.push(`${fileId}@${objectVersion}=${executionArn}`);
  };
  return { jobs, start, noteExecution, noted };
};

describe('the video kind’s pipeline', () => {
  it('hands a checked video to the workflow with what the checks learnt, and leaves it PROCESSING', async () => {
    const bytes = await readFile(media.h264_1080p);
    const starter = recordingStarter();
    const work = workOf(bytes, 'video/mp4');
    const result = await videoPipeline(starter)(work);
    expect(result).toEqual({
      status: 'PROCESSING',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      contentType: 'video/mp4',
      handedOffTo: `arn:execution:${work.file.fileId}`,
      started: true,
    });
    expect(starter.jobs).toEqual([
      {
        fileId: work.file.fileId,
        ownerId: 'owner-1',
        bucket: 'bucket',
        key: work.file.key,
        versionId: 'v1',
        objectVersion: 'v1',
        size: bytes.length,
        contentType: 'video/mp4',
        sha256: createHash('sha256').update(bytes).digest('hex'),
      },
    ]);
    // The record names the execution, so the API finds it without knowing how it was named.
    expect(starter.noted).toEqual([`${work.file.fileId}@v1=arn:execution:${work.file.fileId}`]);
  });

  it('names a reprocess request in the job, and reports a replay as not started', async () => {
    const bytes = await readFile(media.mp3);
    const starter = recordingStarter();
    const pipeline = videoPipeline(starter);
    await pipeline(workOf(bytes, 'audio/mpeg'));
    const again = await pipeline(workOf(bytes, 'audio/mpeg', { reprocessId: 'r-1' }));
    expect(again).toMatchObject({ status: 'PROCESSING', started: false });
    expect(starter.jobs[1]?.reprocessId).toBe('r-1');
    // A replay notes the execution again: the run that started it may have died before it did.
    expect(starter.noted).toHaveLength(2);
  });

  it('ends a file whose bytes contradict its declaration without starting anything', async () => {
    const starter = recordingStarter();
    const pipeline = videoPipeline(starter);
    const jpeg = await readFile(media.jpegAsMp4);
    expect(await pipeline(workOf(jpeg, 'video/mp4'))).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringMatching(/JPEG image .*declared as video\/mp4/),
    });
    const mp4 = await readFile(media.h264_1080p);
    expect(await pipeline(workOf(mp4, 'video/mp4', {}, mp4.length + 1))).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringMatching(/bytes, but .* were declared/),
    });
    expect(starter.jobs).toEqual([]);
    expect(starter.noted).toEqual([]);
  });

  it('leaves a JPEG sent as opaque bytes for the probe to reject', async () => {
    const starter = recordingStarter();
    const jpeg = await readFile(media.jpegAsMp4);
    const result = await videoPipeline(starter)(workOf(jpeg, 'application/octet-stream'));
    expect(result).toMatchObject({ status: 'PROCESSING', contentType: 'image/jpeg' });
    expect(starter.jobs).toHaveLength(1);
  });
});
