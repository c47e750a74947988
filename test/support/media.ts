import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Test media made at test time by Debian's ffmpeg from its `lavfi` sources (a test pattern and
 * a tone): nothing binary is kept in the repository. Small on purpose: seconds, not minutes.
 */
export interface TestMedia {
  /** 3 s of 1080p H.264 + AAC in MP4, fading in from black (so frame one is black). */
  readonly h264_1080p: string;
  /** A phone's portrait video: 1280 × 720 coded, rotation in its display matrix. */
  readonly portrait: string;
  /** 2 s of VP9 + Opus in WebM. */
  readonly vp9: string;
  readonly mp3: string;
  readonly m4a: string;
  readonly wav: string;
  readonly flac: string;
  readonly opus: string;
  /** H.264 + AAC in MPEG-TS. */
  readonly ts: string;
  /** The 1080p MP4 cut after 60,000 bytes. */
  readonly truncated: string;
  /** A JPEG named like a video. */
  readonly jpegAsMp4: string;
  /** The portrait video with a 45° display matrix, which no player honours. */
  readonly oddRotation: string;
}

const ffmpeg = async (args: string[]): Promise<void> => {
  await run('ffmpeg', ['-v', 'error', '-y', ...args]);
};

const TONE = (seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`];
const PATTERN = (size: string, rate: number, seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`,
];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** Makes every test file under `dir` (about 2 s of ffmpeg on two cores). */
export const makeTestMedia = async (dir: string): Promise<TestMedia> => {
  await mkdir(dir, { recursive: true });
  const at = (name: string) => join(dir, name);
  const media: TestMedia = {
    h264_1080p: at('h264-1080p.mp4'),
    portrait: at('portrait.mp4'),
    vp9: at('vp9.webm'),
    mp3: at('tone.mp3'),
    m4a: at('tone.m4a'),
    wav: at('tone.wav'),
    flac: at('tone.flac'),
    opus: at('tone.opus'),
    ts: at('clip.ts'),
    truncated: at('truncated.mp4'),
    jpegAsMp4: at('photo.mp4'),
    oddRotation: at('odd-rotation.mp4'),
  };
  const landscape = at('landscape-720p.mp4');
  await Promise.all([
    ffmpeg([
      ...PATTERN('1920x1080', 30, 3),
      ...TONE(3),
      '-vf',
      'fade=in:st=0:d=1',
      ...X264,
      '-c:a',
      'aac',
      '-shortest',
      media.h264_1080p,
    ]),
    ffmpeg([
      ...PATTERN('1280x720', 30, 2),
      ...TONE(2),
      ...X264,
      '-c:a',
      'aac',
      '-shortest',
      landscape,
    ]),
    ffmpeg([
      ...PATTERN('640x360', 25, 2),
      ...TONE(2),
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '300k',
      '-c:a',
      'libopus',
      '-shortest',
      media.vp9,
    ]),
    ffmpeg([...TONE(2), '-c:a', 'libmp3lame', '-b:a', '128k', media.mp3]),
    ffmpeg([...TONE(2), '-c:a', 'aac', media.m4a]),
    ffmpeg([...TONE(2), media.wav]),
    ffmpeg([...TONE(2), media.flac]),
    ffmpeg([...TONE(2), '-c:a', 'libopus', media.opus]),
    ffmpeg([
      ...PATTERN('640x360', 25, 2),
      ...TONE(2),
      ...X264,
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      media.ts,
    ]),
    ffmpeg([...PATTERN('320x240', 1, 1), '-frames:v', '1', at('photo.jpg')]),
  ]);
  // ffmpeg 5 writes a `rotate` tag into the track's display matrix when it copies streams.
  await Promise.all([
    ffmpeg(['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', media.portrait]),
    ffmpeg(['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=45', media.oddRotation]),
    copyFile(at('photo.jpg'), media.jpegAsMp4),
    readFile(media.h264_1080p).then((bytes) =>
      writeFile(media.truncated, bytes.subarray(0, 60_000)),
    ),
  ]);
  return media;
};

/** What ffprobe says of a file's streams and container. */
export interface ProbedFile {
  readonly streams: readonly {
    readonly codec_type: string;
    readonly codec_name: string;
    readonly profile?: string;
    readonly width?: number;
    readonly height?: number;
  }[];
  readonly format: { readonly format_name: string; readonly duration: string };
}

export const ffprobe = async (path: string): Promise<ProbedFile> => {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_streams',
    '-show_format',
    path,
  ]);
  return JSON.parse(stdout) as ProbedFile;
};

/** The top-level MP4 boxes in order: `moov` before `mdat` is a fast start. */
export const topLevelBoxes = async (path: string): Promise<string[]> => {
  const bytes = await readFile(path);
  const boxes: string[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (size === 1) size = Number(bytes.readBigUInt64BE(offset + 8));
    if (size === 0) size = bytes.length - offset;
    boxes.push(type);
    if (size < 8) break;
    offset += size;
  }
  return boxes;
};
