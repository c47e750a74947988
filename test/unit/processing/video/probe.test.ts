import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ByteRangeReader,
  fileRangeReader,
  mp4IndexSize,
  probeMedia,
} from '#shared/processing/video/probe.ts';
import {
  mapMediaInfo,
  normaliseRotation,
  parseMediaDate,
} from '#shared/processing/video/probe-mapping.ts';
import { makeTestMedia, type TestMedia } from '../../../support/media.ts';

const dir = join(tmpdir(), `syncflow-probe-${process.pid}`);
let media: TestMedia;

beforeAll(async () => {
  media = await makeTestMedia(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const probeFile = async (path: string, options = {}) => {
  const reader = await fileRangeReader(path);
  try {
    return { ...(await probeMedia(reader, options)), size: reader.size };
  } finally {
    await reader.close();
  }
};

const mediaOf = async (path: string) => {
  const { finding } = await probeFile(path);
  if (finding.kind !== 'media') throw new Error(`${path}: ${JSON.stringify(finding)}`);
  return finding.media;
};

describe('probeMedia on real media', () => {
  it('reads a 1080p H.264/AAC MP4: container, duration, codecs, size, rate, audio', async () => {
    const found = await mediaOf(media.h264_1080p);
    expect(found).toMatchObject({
      container: 'MPEG-4',
      video: {
        codec: 'AVC',
        width: 1920,
        height: 1080,
        displayWidth: 1920,
        displayHeight: 1080,
        rotation: 0,
        frameRate: 30,
        variableFrameRate: false,
      },
      audio: { codec: 'AAC', channels: 1, sampleRate: 44100 },
    });
    expect(found.durationSeconds).toBeCloseTo(3, 1);
    expect(found.video?.profile).toMatch(/Baseline|High|Main/);
    expect(found.bitRate).toBeGreaterThan(0);
  });

  it('turns a portrait phone video: coded 1280 × 720, shown 720 × 1280', async () => {
    const found = await mediaOf(media.portrait);
    expect(found.video).toMatchObject({
      width: 1280,
      height: 720,
      displayWidth: 720,
      displayHeight: 1280,
    });
    expect([90, 270]).toContain(found.video?.rotation);
  });

  it('reports a rotation that is not a quarter turn as it is', async () => {
    const found = await mediaOf(media.oddRotation);
    expect(found.video?.rotation).not.toBe(0);
    expect([0, 90, 180, 270]).not.toContain(found.video?.rotation);
  });

  it('reads WebM (VP9 + Opus), MPEG-TS and every audio container', async () => {
    expect(await mediaOf(media.vp9)).toMatchObject({
      container: 'WebM',
      video: { codec: 'VP9', width: 640, height: 360 },
      audio: { codec: 'Opus', sampleRate: 48000 },
    });
    expect(await mediaOf(media.ts)).toMatchObject({
      container: 'MPEG-TS',
      video: { codec: 'AVC', width: 640, height: 360 },
      audio: { codec: 'AAC' },
    });
    const audio = {
      [media.mp3]: ['MPEG Audio', 'MPEG Audio'],
      [media.m4a]: ['MPEG-4', 'AAC'],
      [media.wav]: ['Wave', 'PCM'],
      [media.flac]: ['FLAC', 'FLAC'],
      [media.opus]: ['Ogg', 'Opus'],
    };
    for (const [path, [container, codec]] of Object.entries(audio)) {
      const found = await mediaOf(path);
      expect(found, path).toMatchObject({ container, audio: { codec, channels: 1 } });
      expect(found.video, path).toBeUndefined();
      expect(found.durationSeconds, path).toBeGreaterThan(1.9);
    }
  });

  it('calls a cut-short MP4 damaged and a JPEG named .mp4 not media', async () => {
    expect((await probeFile(media.truncated)).finding).toEqual({
      kind: 'damaged',
      reason: 'The MPEG-4 file is cut short: it ends before the data it announces.',
    });
    expect((await probeFile(media.jpegAsMp4)).finding).toEqual({
      kind: 'not-media',
      reason: 'The file is a JPEG image, not video or audio.',
    });
  });

  it('calls an empty file and random bytes not media', async () => {
    const empty: ByteRangeReader = { size: 0, read: async () => new Uint8Array(0) };
    expect((await probeMedia(empty)).finding.kind).toBe('not-media');
    const noise = Buffer.alloc(64 * 1024, 7);
    const random: ByteRangeReader = {
      size: noise.length,
      read: async (offset, length) => noise.subarray(offset, offset + length),
    };
    expect((await probeMedia(random)).finding.kind).toBe('not-media');
  });

  it('stops after the index: with little slack it reads a fraction of the file and still knows it', async () => {
    const probed = await probeFile(media.h264_1080p, {
      slackBytes: 64 * 1024,
    });
    expect(probed.finding).toMatchObject({
      kind: 'media',
      media: { video: { width: 1920, height: 1080 }, audio: { codec: 'AAC' } },
    });
    expect(probed.bytesRead).toBeLessThan(probed.size / 4);
  });
});

describe('mp4IndexSize', () => {
  it('finds the moov box by its top-level header, and nothing in other containers', async () => {
    const reader = await fileRangeReader(media.h264_1080p);
    try {
      const size = await mp4IndexSize(reader);
      expect(size).toBeGreaterThan(1000);
      expect(size).toBeLessThan(reader.size / 10);
    } finally {
      await reader.close();
    }
    const webm = await fileRangeReader(media.vp9);
    try {
      expect(await mp4IndexSize(webm)).toBeUndefined();
    } finally {
      await webm.close();
    }
  });
});

describe('mapMediaInfo', () => {
  it('maps dates, rotations and bit rates from MediaInfo fields', () => {
    const finding = mapMediaInfo([
      {
        '@type': 'General',
        Format: 'MPEG-4',
        Duration: 12.5,
        OverallBitRate: 1234567.8,
        Encoded_Date: '2026-11-29 10:00:00 UTC',
      },
      {
        '@type': 'Video',
        Format: 'HEVC',
        Format_Profile: 'Main 10',
        Width: 3840,
        Height: 2160,
        Rotation: '-90.000',
        FrameRate: 29.97,
        FrameRate_Mode: 'VFR',
      },
    ]);
    expect(finding).toEqual({
      kind: 'media',
      media: {
        container: 'MPEG-4',
        durationSeconds: 12.5,
        bitRate: 1234568,
        creationTime: '2026-11-29T10:00:00.000Z',
        video: {
          codec: 'HEVC',
          profile: 'Main 10',
          width: 3840,
          height: 2160,
          displayWidth: 2160,
          displayHeight: 3840,
          rotation: 270,
          frameRate: 29.97,
          variableFrameRate: true,
        },
      },
    });
  });

  it('ignores QuickTime’s empty 1904 date and unreadable dates', () => {
    expect(parseMediaDate('1904-01-01 00:00:00 UTC')).toBeUndefined();
    expect(parseMediaDate('UTC 2020-02-03 04:05:06')).toBe('2020-02-03T04:05:06.000Z');
    expect(parseMediaDate('yesterday')).toBeUndefined();
    expect(normaliseRotation('360')).toBe(0);
    expect(normaliseRotation(-180)).toBe(180);
    expect(normaliseRotation(undefined)).toBe(0);
  });

  it('names what a non-media file is, and refuses a report without a format', () => {
    expect(mapMediaInfo([{ '@type': 'General', Format: 'PDF' }])).toEqual({
      kind: 'not-media',
      reason: 'The file is a PDF document, not video or audio.',
    });
    expect(mapMediaInfo([{ '@type': 'General' }]).kind).toBe('not-media');
    expect(mapMediaInfo([]).kind).toBe('not-media');
  });
});
