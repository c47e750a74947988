import { describe, expect, it } from 'vitest';
import { mediaConvertJobSettings } from '#shared/domain/mediaconvert-settings.ts';
import {
  DEFAULT_VIDEO_LIMITS,
  judgeMedia,
  type MediaMetadata,
  posterFrameName,
  renditionFrameRate,
  renditionSize,
  transcodePlan,
} from '#shared/domain/video.ts';
import {
  transcodeSourceKey,
  transcodeTargets,
  videoExecutionName,
} from '#shared/domain/video-workflow.ts';

const video = (over: Partial<NonNullable<MediaMetadata['video']>> = {}): MediaMetadata => ({
  container: 'MPEG-4',
  durationSeconds: 10,
  video: {
    codec: 'AVC',
    width: 1920,
    height: 1080,
    displayWidth: 1920,
    displayHeight: 1080,
    rotation: 0,
    frameRate: 30,
    variableFrameRate: false,
    ...over,
  },
  audio: { codec: 'AAC', channels: 2, sampleRate: 48000 },
});

describe('renditionSize', () => {
  it('brings the short side to 720 at most, keeps the aspect, never enlarges, stays even', () => {
    expect(renditionSize(1920, 1080)).toEqual({ width: 1280, height: 720 });
    expect(renditionSize(1080, 1920)).toEqual({ width: 720, height: 1280 });
    expect(renditionSize(3840, 2160)).toEqual({ width: 1280, height: 720 });
    expect(renditionSize(640, 360)).toEqual({ width: 640, height: 360 });
    expect(renditionSize(641, 361)).toEqual({ width: 640, height: 360 });
    expect(renditionSize(1440, 1080)).toEqual({ width: 960, height: 720 });
  });
});

describe('judgeMedia', () => {
  it('transcodes a video, keeps audio, and says why anything else ends', () => {
    expect(judgeMedia(video(), DEFAULT_VIDEO_LIMITS).outcome).toBe('VIDEO');
    const { video: _, ...audioOnly } = video();
    expect(judgeMedia(audioOnly, DEFAULT_VIDEO_LIMITS).outcome).toBe('AUDIO');
    expect(judgeMedia({ container: 'MPEG-4', durationSeconds: 3 }, DEFAULT_VIDEO_LIMITS)).toEqual({
      outcome: 'REJECTED',
      reason: 'The MPEG-4 file holds neither a video nor an audio stream.',
    });
    expect(judgeMedia({ ...video(), durationSeconds: 0 }, DEFAULT_VIDEO_LIMITS)).toMatchObject({
      outcome: 'FAILED',
    });
  });

  it('rejects what is over the stage’s limits, naming the limit', () => {
    const limits = { maxDurationSeconds: 60, maxFrameSide: 1920, maxFramePixels: 1920 * 1080 };
    expect(judgeMedia({ ...video(), durationSeconds: 3725 }, limits)).toEqual({
      outcome: 'REJECTED',
      reason: 'The media lasts 1 h 2 min 5 s, over the limit of 1 min 0 s.',
    });
    expect(judgeMedia(video({ width: 3840, height: 2160 }), limits)).toMatchObject({
      outcome: 'REJECTED',
      reason: expect.stringContaining('3840 × 2160'),
    });
  });

  it('rejects a turn that is not a quarter turn; accepts quarter turns', () => {
    expect(judgeMedia(video({ rotation: 45 }), DEFAULT_VIDEO_LIMITS)).toMatchObject({
      outcome: 'REJECTED',
      reason: expect.stringContaining('45°'),
    });
    for (const rotation of [90, 180, 270]) {
      expect(judgeMedia(video({ rotation }), DEFAULT_VIDEO_LIMITS).outcome).toBe('VIDEO');
    }
  });

  it('notes a variable frame rate and makes it constant at its average', () => {
    const vfr = video({ frameRate: 29.817, variableFrameRate: true });
    const verdict = judgeMedia(vfr, DEFAULT_VIDEO_LIMITS);
    expect(verdict).toMatchObject({
      outcome: 'VIDEO',
      notes: [
        'The video has a variable frame rate; the web rendition plays at a constant 29.817 frames a second.',
      ],
    });
    expect(renditionFrameRate(vfr)).toBe(29.817);
    expect(renditionFrameRate(video())).toBeUndefined();
    expect(renditionFrameRate(video({ frameRate: 120 }))).toBe(60);
  });
});

describe('transcodePlan and MediaConvert settings', () => {
  it('plans frames spread over the video and the rendition size of the shown picture', () => {
    const plan = transcodePlan(
      video({ width: 1280, height: 720, displayWidth: 720, displayHeight: 1280, rotation: 90 }),
    );
    expect(plan).toMatchObject({ width: 720, height: 1280, hasAudio: true, captureCount: 6 });
    expect(plan.captureNumerator / plan.captureDenominator).toBeCloseTo(0.6);
    expect(posterFrameName(2)).toBe('frames/frame.0000002.jpg');
  });

  it('gives MediaConvert the same outputs: MP4 index first, frame size, no audio when none', () => {
    const job = {
      fileId: '0b3d3f36-8f6b-4a49-9e0e-6f1d8a3d2c11',
      ownerId: 'owner',
      bucket: 'b',
      key: 'uploads/owner/0b3d3f36-8f6b-4a49-9e0e-6f1d8a3d2c11',
      objectVersion: 'v1',
      size: 1,
      contentType: 'video/mp4',
      sha256: null,
    };
    const targets = transcodeTargets(job);
    expect(targets).toEqual({
      // Not the original's key, whose current bytes may not be the checked ones: the run's
      // private copy of the checked version (MediaConvert's input cannot name a version).
      input: `s3://b/${transcodeSourceKey(job)}`,
      rendition: `s3://b/derived/owner/${job.fileId}/web`,
      frames: `s3://b/derived/owner/${job.fileId}/frames/frame`,
    });
    const { audio: _, ...silent } = video();
    const settings = mediaConvertJobSettings(transcodePlan(silent), targets);
    const [rendition, frames] = settings.OutputGroups;
    expect(rendition?.Outputs[0]).toMatchObject({
      ContainerSettings: {
        Container: 'MP4',
        Mp4Settings: { MoovPlacement: 'PROGRESSIVE_DOWNLOAD' },
      },
      VideoDescription: { Width: 1280, Height: 720 },
    });
    expect(rendition?.Outputs[0]).not.toHaveProperty('AudioDescriptions');
    expect(settings.Inputs[0]).not.toHaveProperty('AudioSelectors');
    expect(frames?.Outputs[0]?.VideoDescription.CodecSettings.Codec).toBe('FRAME_CAPTURE');
    expect(settings.Inputs[0]?.FileInput).toBe(targets.input);
    expect(settings.Inputs[0]?.FileInput).not.toContain('/uploads/');
    expect(JSON.stringify(mediaConvertJobSettings(transcodePlan(video()), targets))).toContain(
      'AudioDescriptions',
    );
  });
});

describe('transcodeSourceKey', () => {
  it('is a key of its own per run, under the file’s derived/ prefix', () => {
    const job = {
      fileId: '0b3d3f36-8f6b-4a49-9e0e-6f1d8a3d2c11',
      ownerId: 'owner',
      objectVersion: '"etag/with+odd=chars"',
    };
    const key = transcodeSourceKey(job);
    expect(key).toMatch(new RegExp(`^derived/owner/${job.fileId}/staging/[0-9a-f]{32}$`));
    expect(transcodeSourceKey({ ...job })).toBe(key);
    expect(transcodeSourceKey({ ...job, reprocessId: 'r1' })).not.toBe(key);
    expect(transcodeSourceKey({ ...job, objectVersion: 'v2' })).not.toBe(key);
  });
});

describe('videoExecutionName', () => {
  it('is the same for a replay, new for a reprocess, and a valid Step Functions name', () => {
    const job = {
      fileId: '0b3d3f36-8f6b-4a49-9e0e-6f1d8a3d2c11',
      objectVersion: '"etag/with+odd=chars"',
    };
    const name = videoExecutionName(job);
    expect(videoExecutionName({ ...job })).toBe(name);
    expect(videoExecutionName({ ...job, reprocessId: 'r1' })).not.toBe(name);
    expect(videoExecutionName({ ...job, objectVersion: 'other' })).not.toBe(name);
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(name.startsWith(job.fileId)).toBe(true);
  });
});
