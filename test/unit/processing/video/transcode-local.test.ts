import { describe, expect, it } from 'vitest';
import { transcodePlan } from '#shared/domain/video.ts';
import { FfmpegMissingError, findFfmpeg } from '#shared/processing/video/ffmpeg.ts';
import { localTranscodeArgs, transcodeLocally } from '#shared/processing/video/transcode-local.ts';

const media = {
  container: 'MPEG-4',
  durationSeconds: 4,
  video: {
    codec: 'AVC',
    width: 1920,
    height: 1080,
    displayWidth: 1920,
    displayHeight: 1080,
    rotation: 0,
    frameRate: 30,
    variableFrameRate: true,
  },
} as const;

describe('localTranscodeArgs', () => {
  it('asks for H.264 High, the planned size, a constant rate, index first, frames as MediaConvert names them', () => {
    const args = localTranscodeArgs('in.mp4', '/out', transcodePlan(media)).join(' ');
    expect(args).toContain('-vf scale=1280:720,format=yuv420p');
    expect(args).toContain('-r 30 -fps_mode cfr');
    expect(args).toContain('-c:v libx264');
    expect(args).toContain('-profile:v high');
    expect(args).toContain('-movflags +faststart');
    expect(args).toContain('-map_metadata -1');
    expect(args).toContain('/out/frames/frame.%07d.jpg');
    expect(args).toContain('-frames:v 6');
    // No audio stream: no audio mapped or encoded (ffmpeg would fail on `-map 0:a:0`).
    expect(args).not.toContain('0:a:0');
    expect(args).not.toContain('-c:a');
  });
});

describe('a machine without ffmpeg', () => {
  it('fails the video with a reason that says how to install ffmpeg', async () => {
    expect(() => findFfmpeg({ FFMPEG_PATH: '/nonexistent/ffmpeg' })).toThrow(FfmpegMissingError);
    const failure = await transcodeLocally({
      input: 'in.mp4',
      outDir: '/tmp/never-written',
      plan: transcodePlan(media),
      env: { FFMPEG_PATH: '/nonexistent/ffmpeg' },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FfmpegMissingError);
    expect((failure as Error).message).toMatch(/ffmpeg was not found.*apt-get install ffmpeg/);
    expect((failure as Error).name).toBe('FfmpegMissingError');
  });
});
