import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  POSTER_FRAMES,
  posterFrameName,
  type TranscodePlan,
  WEB_RENDITION,
} from '../../domain/video.ts';
import { findFfmpeg, runFfmpeg } from './ffmpeg.ts';

/** x264's speed: the local stack favours a quick answer over the last few percent of size. */
export const LOCAL_X264_PRESET = 'veryfast';

/**
 * The ffmpeg arguments that make what the MediaConvert job makes, in one decoding pass: the
 * web rendition (`WEB_RENDITION`, scaled after ffmpeg's own rotation, metadata stripped as the
 * image derivatives are, index first) and the poster frames under `frames/`.
 */
export const localTranscodeArgs = (
  input: string,
  outDir: string,
  plan: TranscodePlan,
): string[] => {
  const kbps = (bits: number) => `${Math.round(bits / 1000)}k`;
  const scale = `scale=${plan.width}:${plan.height}`;
  const gop = `expr:gte(t,n_forced*${WEB_RENDITION.gopSeconds})`;
  return [
    '-y',
    '-i',
    input,
    // The rendition.
    '-map',
    '0:v:0',
    ...(plan.hasAudio ? ['-map', '0:a:0'] : []),
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-vf',
    `${scale},format=yuv420p`,
    ...(plan.frameRate !== undefined ? ['-r', String(plan.frameRate), '-fps_mode', 'cfr'] : []),
    '-c:v',
    'libx264',
    '-preset',
    LOCAL_X264_PRESET,
    '-profile:v',
    WEB_RENDITION.h264Profile,
    '-level:v',
    WEB_RENDITION.h264Level,
    '-crf',
    String(WEB_RENDITION.crf),
    '-maxrate',
    kbps(WEB_RENDITION.maxBitRate),
    '-bufsize',
    kbps(2 * WEB_RENDITION.maxBitRate),
    '-force_key_frames',
    gop,
    ...(plan.hasAudio
      ? [
          '-c:a',
          'aac',
          '-b:a',
          kbps(WEB_RENDITION.audioBitRate),
          '-ar',
          String(WEB_RENDITION.audioSampleRate),
          '-ac',
          String(WEB_RENDITION.audioChannels),
        ]
      : []),
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    join(outDir, WEB_RENDITION.name),
    // The poster frames, from the same decoded pictures.
    '-map',
    '0:v:0',
    '-map_metadata',
    '-1',
    '-vf',
    `fps=${plan.captureNumerator}/${plan.captureDenominator},${scale}`,
    '-frames:v',
    String(plan.captureCount),
    '-q:v',
    '3',
    '-start_number',
    '0',
    '-f',
    'image2',
    join(outDir, POSTER_FRAMES.prefix, `${POSTER_FRAMES.baseName}.%07d.jpg`),
  ];
};

export interface LocalTranscodeResult {
  /** The rendition's path. */
  readonly rendition: string;
  /** The poster frames' names under `outDir` (`frames/frame.0000000.jpg`…), in time order. */
  readonly frames: readonly string[];
}

export interface LocalTranscodeOptions {
  /** A path or a URL ffmpeg reads (a presigned GET reads by ranges, like a file). */
  readonly input: string;
  /** An empty directory of this run's own. */
  readonly outDir: string;
  readonly plan: TranscodePlan;
  /** Called with the share done, 0..1, as ffmpeg reports it. */
  readonly onProgress?: (share: number) => void;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The local stage's transcoder: ffmpeg on this machine makes the rendition and the poster frames
 * that MediaConvert makes in AWS. Throws FfmpegMissingError when there is no ffmpeg.
 */
export const transcodeLocally = async (
  options: LocalTranscodeOptions,
): Promise<LocalTranscodeResult> => {
  const ffmpeg = findFfmpeg(options.env);
  await mkdir(join(options.outDir, POSTER_FRAMES.prefix), { recursive: true });
  const duration = options.plan.durationSeconds;
  await runFfmpeg(ffmpeg, localTranscodeArgs(options.input, options.outDir, options.plan), {
    ...(options.signal && { signal: options.signal }),
    onProgress: (seconds) => {
      if (duration > 0) options.onProgress?.(Math.min(1, Math.max(0, seconds / duration)));
    },
  });
  const written = new Set(await readdir(join(options.outDir, POSTER_FRAMES.prefix)));
  const frames = Array.from({ length: options.plan.captureCount }, (_, i) =>
    posterFrameName(i),
  ).filter((name) => written.has(name.slice(POSTER_FRAMES.prefix.length)));
  return { rendition: join(options.outDir, WEB_RENDITION.name), frames };
};
