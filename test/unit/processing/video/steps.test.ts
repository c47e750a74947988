import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { notificationFor } from '#shared/domain/notification.ts';
import {
  posterFramesPrefix,
  transcodeSourceKey,
  transcodeTargets,
  type VideoJob,
} from '#shared/domain/video-workflow.ts';
import { posterStep } from '#shared/processing/video/poster-step.ts';
import { progressFromEvent, recordProgress } from '#shared/processing/video/progress.ts';
import { failureReason, recordVideoFailure } from '#shared/processing/video/record-failure.ts';
import { stageSourceStep } from '#shared/processing/video/stage-source.ts';

describe('failureReason', () => {
  it('shows messages written for people, and a sentence for anything else', () => {
    expect(
      failureReason({
        Error: 'FfmpegMissingError',
        Cause: JSON.stringify({ errorType: 'FfmpegMissingError', errorMessage: 'install ffmpeg' }),
      }),
    ).toBe('install ffmpeg');
    // MiniStack names every function error Runtime.HandlerError: only our openings are shown.
    expect(
      failureReason({
        Error: 'Runtime.HandlerError',
        Cause: JSON.stringify({
          errorMessage: 'Videos cannot be transcoded on this machine: ffmpeg was not found',
        }),
      }),
    ).toBe('Videos cannot be transcoded on this machine: ffmpeg was not found');
    expect(
      failureReason({
        Error: 'Runtime.HandlerError',
        Cause: JSON.stringify({ errorMessage: 'connect ECONNREFUSED 10.0.0.1:5432' }),
      }),
    ).toBe('The video could not be processed; reprocess it to try again.');
    expect(failureReason({ Error: 'States.Timeout' })).toMatch(/took longer/);
    expect(
      failureReason({
        Error: 'MediaConvert.JobFailed',
        Cause: JSON.stringify({ ErrorMessage: 'Demuxer: end of file' }),
      }),
    ).toBe(
      'The video could not be transcoded; reprocess it to try again, or upload it in another format.',
    );
    // MediaConvert's words never reach the record (they are logged by fileId).
    expect(
      failureReason({
        Error: 'MediaConvert.JobFailed',
        Cause: JSON.stringify({ errorMessage: 'Bad job settings: s3://bucket/derived/x' }),
      }),
    ).not.toMatch(/s3:|settings/);
    expect(
      failureReason({
        Error: 'TypeError',
        Cause: JSON.stringify({ errorMessage: 'x is undefined' }),
      }),
    ).toBe('The video could not be processed; reprocess it to try again.');
    expect(failureReason(undefined)).toMatch(/could not be processed/);
  });
});

describe('progress', () => {
  const mediaConvert = (percent: unknown, status = 'STATUS_UPDATE') => ({
    source: 'aws.mediaconvert',
    'detail-type': 'MediaConvert Job State Change',
    detail: {
      status,
      jobPercentComplete: percent,
      userMetadata: { fileId: 'f1', objectVersion: 'v1', application: 'syncflow-x' },
    },
  });

  it('reads MediaConvert’s status updates and the local transcoder’s reports, nothing else', () => {
    expect(progressFromEvent(mediaConvert(42))).toEqual({
      fileId: 'f1',
      objectVersion: 'v1',
      percent: 42,
    });
    expect(progressFromEvent(mediaConvert(100, 'COMPLETE'))).toBeUndefined();
    expect(progressFromEvent(mediaConvert('42'))).toBeUndefined();
    expect(
      progressFromEvent({
        source: 'syncflow.video',
        detail: { fileId: 'f1', objectVersion: 'v1', percent: 7 },
      }),
    ).toEqual({ fileId: 'f1', objectVersion: 'v1', percent: 7 });
    expect(progressFromEvent({ source: 'aws.s3', detail: {} })).toBeUndefined();
  });

  it('publishes file.progress only when the record moved, and the owner’s message carries it', async () => {
    const file = { fileId: 'f1', ownerId: 'o1', size: 10, contentType: 'video/mp4' };
    const put = vi.fn(async () => undefined);
    const moved = await recordProgress(
      { repository: { recordProgress: vi.fn(async () => file as never) }, events: { put } },
      { fileId: 'f1', objectVersion: 'v1', percent: 42.7 },
    );
    expect(moved).toEqual({ ...file, status: 'PROCESSING', progress: 42 });
    expect(put).toHaveBeenCalledWith('file.progress', moved, 'f1');
    const stale = await recordProgress(
      { repository: { recordProgress: vi.fn(async () => undefined) }, events: { put } },
      { fileId: 'f1', objectVersion: 'v1', percent: 10 },
    );
    expect(stale).toBeUndefined();
    expect(put).toHaveBeenCalledTimes(1);

    const { ownerId, message } = notificationFor({
      id: 'e1',
      'detail-type': 'file.progress',
      time: '2026-12-01T00:00:00Z',
      detail: moved as never,
    });
    expect(ownerId).toBe('o1');
    expect(message).toEqual({
      type: 'file.progress',
      eventId: 'e1',
      fileId: 'f1',
      status: 'PROCESSING',
      size: 10,
      contentType: 'video/mp4',
      progress: 42,
      at: '2026-12-01T00:00:00Z',
    });
  });
});

describe('the checked version, as MediaConvert reads it', () => {
  const job: VideoJob = {
    fileId: '0b3d3f36-8f6b-4a49-9e0e-6f1d8a3d2c11',
    ownerId: 'owner',
    bucket: 'b',
    key: 'uploads/video/owner/0b3d3f36-8f6b-4a49-9e0e-6f1d8a3d2c11',
    versionId: 'checked-version',
    objectVersion: 'checked-version',
    size: 12_345,
    contentType: 'video/mp4',
    sha256: 'a'.repeat(64),
  };

  it('is copied, by version, to the key the job input names', async () => {
    const copyVersion = vi.fn(async () => ({ versionId: 'copy-1' }));
    const result = await stageSourceStep({ copyVersion }, job);
    expect(copyVersion).toHaveBeenCalledWith(
      'b',
      { key: job.key, versionId: 'checked-version', size: 12_345 },
      transcodeSourceKey(job),
    );
    expect(result).toEqual({ key: transcodeSourceKey(job) });
    expect(transcodeTargets(job).input).toBe(`s3://b/${result.key}`);
    // No version named: nothing checked to copy.
    const { versionId: _, ...unversioned } = job;
    await expect(stageSourceStep({ copyVersion }, unversioned)).rejects.toThrow(/no version/);
  });

  it('is removed once the poster is made, and by the failure path whatever it records', async () => {
    const deleteEverything = vi.fn(async () => 1);
    const frame = await sharp({
      create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 140, b: 60 } },
    })
      .jpeg()
      .toBuffer();
    await posterStep(
      {
        readAll: async () => frame,
        put: async () => ({ versionId: 'p1' }),
        deleteEverything,
      },
      job,
      1,
    );
    expect(deleteEverything).toHaveBeenCalledWith('b', [
      posterFramesPrefix(job.ownerId, job.fileId),
      transcodeSourceKey(job),
    ]);

    // A newer run holds the file: nothing recorded, the copy goes all the same.
    deleteEverything.mockClear();
    const repository = {
      finish: vi.fn(async () => undefined),
      get: vi.fn(async () => ({ status: 'PROCESSED' }) as FileRecord),
      clearProgress: vi.fn(async () => undefined),
    };
    const state = { job, error: { Error: 'MediaConvert.JobFailed' } };
    const deps = { repository, stat: async () => undefined, deleteEverything };
    expect((await recordVideoFailure(deps, state)).recorded).toBe(false);
    expect(deleteEverything).toHaveBeenCalledWith('b', [transcodeSourceKey(job)]);
  });
});
