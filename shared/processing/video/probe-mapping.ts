import type {
  AudioStreamMetadata,
  MediaMetadata,
  VideoStreamMetadata,
} from '../../domain/video.ts';

/** One track of MediaInfo's `object` report: `@type` and its fields, numbers already parsed. */
export type MediaInfoTrack = Readonly<Record<string, unknown>> & { readonly '@type': string };

/** What a probe found: media to judge, or why the bytes are not media we can read. */
export type ProbeFinding =
  | { readonly kind: 'media'; readonly media: MediaMetadata }
  | { readonly kind: 'not-media'; readonly reason: string }
  | { readonly kind: 'damaged'; readonly reason: string };

const num = (value: unknown): number | undefined => {
  const n = typeof value === 'string' ? Number.parseFloat(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, 100) : undefined;

/** MediaInfo's dates: `2026-11-29 10:00:00 UTC`, `UTC 2026-11-29 10:00:00`, or ISO 8601. */
export const parseMediaDate = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  const match = /(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?/.exec(
    value,
  );
  if (!match) return undefined;
  const [, day, time, zone] = match;
  const date = new Date(`${day}T${time}${zone ?? 'Z'}`);
  // QuickTime's epoch (1904) is what a muxer writes when it knows no date: not a date at all.
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1971) return undefined;
  return date.toISOString();
};

/** A rotation in clockwise degrees, 0 ≤ r < 360; quarter turns come out exact. */
export const normaliseRotation = (value: unknown): number => {
  const degrees = num(value);
  if (degrees === undefined) return 0;
  const turned = ((degrees % 360) + 360) % 360;
  const rounded = Math.round(turned * 1000) / 1000;
  return rounded === 360 ? 0 : rounded;
};

const FORMAT_NAMES: Readonly<Record<string, string>> = {
  JPEG: 'a JPEG image',
  PNG: 'a PNG image',
  GIF: 'a GIF image',
  WebP: 'a WebP image',
  TIFF: 'a TIFF image',
  PDF: 'a PDF document',
  ZIP: 'a ZIP archive',
  HTML: 'an HTML page',
};

const mapVideo = (track: MediaInfoTrack): VideoStreamMetadata => {
  const width = num(track.Width) ?? 0;
  const height = num(track.Height) ?? 0;
  const rotation = normaliseRotation(track.Rotation);
  const quarter = rotation === 90 || rotation === 270;
  const frameRate = num(track.FrameRate);
  const profile = str(track.Format_Profile);
  const bitRate = num(track.BitRate);
  return {
    codec: str(track.Format) ?? 'unknown',
    ...(profile !== undefined && { profile }),
    width,
    height,
    displayWidth: quarter ? height : width,
    displayHeight: quarter ? width : height,
    rotation,
    ...(frameRate !== undefined && { frameRate }),
    // MediaInfo reports the container's timing: VFR when frame durations differ.
    variableFrameRate: str(track.FrameRate_Mode) === 'VFR',
    ...(bitRate !== undefined && { bitRate: Math.round(bitRate) }),
  };
};

const mapAudio = (track: MediaInfoTrack): AudioStreamMetadata => {
  const channels = num(track.Channels);
  const sampleRate = num(track.SamplingRate);
  const bitRate = num(track.BitRate);
  return {
    codec: str(track.Format) ?? 'unknown',
    ...(channels !== undefined && { channels }),
    ...(sampleRate !== undefined && { sampleRate }),
    ...(bitRate !== undefined && { bitRate: Math.round(bitRate) }),
  };
};

const isTruncated = (general: MediaInfoTrack): boolean => {
  const extra = general.extra as Record<string, unknown> | undefined;
  return extra?.IsTruncated === 'Yes';
};

/**
 * Turns MediaInfo's report into the record's media metadata, or says why it is none: another
 * kind of file (a JPEG named `.mp4`), nothing MediaInfo recognises, or media cut short.
 */
export const mapMediaInfo = (tracks: readonly MediaInfoTrack[]): ProbeFinding => {
  const general = tracks.find((t) => t['@type'] === 'General');
  const container = str(general?.Format);
  if (!general || container === undefined) {
    return {
      kind: 'not-media',
      reason: 'The file is not video or audio in any format that can be read.',
    };
  }
  const video = tracks.find((t) => t['@type'] === 'Video');
  const audio = tracks.find((t) => t['@type'] === 'Audio');
  if (isTruncated(general)) {
    return {
      kind: 'damaged',
      reason: `The ${container} file is cut short: it ends before the data it announces.`,
    };
  }
  if (!video && !audio) {
    const image = tracks.some((t) => t['@type'] === 'Image');
    const named = FORMAT_NAMES[container] ?? (image ? `an image (${container})` : undefined);
    return {
      kind: 'not-media',
      reason:
        named !== undefined
          ? `The file is ${named}, not video or audio.`
          : `The file (${container}) holds no video or audio stream.`,
    };
  }
  const durationSeconds =
    num(general.Duration) ?? num(video?.Duration) ?? num(audio?.Duration) ?? 0;
  const bitRate = num(general.OverallBitRate);
  const creationTime =
    parseMediaDate(general.Encoded_Date) ??
    parseMediaDate(general.Tagged_Date) ??
    parseMediaDate(general.Recorded_Date);
  return {
    kind: 'media',
    media: {
      container,
      durationSeconds,
      ...(bitRate !== undefined && { bitRate: Math.round(bitRate) }),
      ...(creationTime !== undefined && { creationTime }),
      ...(video && { video: mapVideo(video) }),
      ...(audio && { audio: mapAudio(audio) }),
    },
  };
};
