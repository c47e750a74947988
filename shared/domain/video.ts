/**
 * Video and audio: what a probe learns, the limits a stage sets, and the one set of rendition
 * settings both transcoders follow (ffmpeg on the local stack, MediaConvert in AWS). No SDK and
 * no media library here: the CDK app reads these too.
 */

/** The video stream of a file, as it is shown (rotation applied to `displayWidth/Height`). */
export interface VideoStreamMetadata {
  /** `AVC`, `HEVC`, `VP9`, `AV1`, `ProRes`… as MediaInfo names formats. */
  readonly codec: string;
  readonly profile?: string;
  /** Coded frame size. */
  readonly width: number;
  readonly height: number;
  /** The frame as a player shows it: width and height swapped for 90° and 270°. */
  readonly displayWidth: number;
  readonly displayHeight: number;
  /** Clockwise degrees a player turns the frame: 0, 90, 180 or 270. */
  readonly rotation: number;
  /** Frames a second (the average for a variable frame rate). */
  readonly frameRate?: number;
  readonly variableFrameRate: boolean;
  readonly bitRate?: number;
}

export interface AudioStreamMetadata {
  readonly codec: string;
  readonly channels?: number;
  readonly sampleRate?: number;
  readonly bitRate?: number;
}

/** What the probe says of a video or audio file; kept on the record as `metadata.media`. */
export interface MediaMetadata {
  /** `MPEG-4`, `Matroska`, `WebM`, `MPEG-TS`, `MPEG Audio`, `Wave`, `FLAC`, `Ogg`… */
  readonly container: string;
  readonly durationSeconds: number;
  /** Overall bit rate, bits a second. */
  readonly bitRate?: number;
  /** When the recording was made, as the container says (ISO 8601, UTC). */
  readonly creationTime?: string;
  readonly video?: VideoStreamMetadata;
  readonly audio?: AudioStreamMetadata;
  /** What a person should know that did not stop the file (a variable frame rate made constant). */
  readonly notes?: readonly string[];
}

/** A stage's limits on what it transcodes; over them a file is REJECTED. */
export interface VideoLimits {
  /** Longest duration accepted, in seconds. */
  readonly maxDurationSeconds: number;
  /** Largest coded frame: its longer side and its area. */
  readonly maxFrameSide: number;
  readonly maxFramePixels: number;
}

/** Two hours, and nothing larger than 8K UHD. */
export const DEFAULT_VIDEO_LIMITS: VideoLimits = {
  maxDurationSeconds: 2 * 60 * 60,
  maxFrameSide: 7680,
  maxFramePixels: 7680 * 4320,
};

/**
 * The web rendition: H.264 High with AAC in an MP4 whose index comes first (a `<video>` starts
 * playing after its first range request), at most 720 lines on the short side, never upscaled.
 * Both transcoders read these numbers, so their outputs match.
 */
export const WEB_RENDITION = {
  name: 'web.mp4',
  contentType: 'video/mp4',
  maxShortSide: 720,
  /** Constant quality where the encoder offers it (x264 CRF; MediaConvert QVBR level 7). */
  crf: 23,
  qvbrLevel: 7,
  maxBitRate: 5_000_000,
  h264Profile: 'high',
  h264Level: '4.0',
  /** A keyframe every two seconds: seeking in a browser lands near where it was asked. */
  gopSeconds: 2,
  maxFrameRate: 60,
  audioBitRate: 128_000,
  audioSampleRate: 48_000,
  audioChannels: 2,
} as const;

/**
 * Frames taken for the poster: this many, spread evenly over the video, written as JPEG under
 * `frames/` beside the rendition; the poster step picks the first one worth showing.
 */
export const POSTER_FRAMES = {
  count: 6,
  prefix: 'frames/',
  /** MediaConvert names frame captures `<name>.<seven digits>.jpg`; ffmpeg is told the same. */
  baseName: 'frame',
  maxSide: 1280,
} as const;

/** The object name of the n-th poster frame, as both transcoders write it. */
export const posterFrameName = (index: number): string =>
  `${POSTER_FRAMES.prefix}${POSTER_FRAMES.baseName}.${String(index).padStart(7, '0')}.jpg`;

/** An even number no larger than `value` and at least 2: H.264 in 4:2:0 needs even sides. */
const even = (value: number): number => Math.max(2, Math.floor(value / 2) * 2);

/**
 * The rendition's frame size for a picture shown at `displayWidth × displayHeight`: the short
 * side brought down to `maxShortSide` at most, the aspect ratio kept, never enlarged.
 */
export const renditionSize = (
  displayWidth: number,
  displayHeight: number,
  maxShortSide: number = WEB_RENDITION.maxShortSide,
): { width: number; height: number } => {
  const short = Math.min(displayWidth, displayHeight);
  const scale = short > maxShortSide ? maxShortSide / short : 1;
  return {
    width: even(Math.round(displayWidth * scale)),
    height: even(Math.round(displayHeight * scale)),
  };
};

/**
 * The frame rate the rendition is forced to, or undefined to keep the source's: a variable rate
 * becomes constant at its average (browsers seek and MediaConvert encodes better on a constant
 * one), and nothing plays faster than `maxFrameRate`.
 */
export const renditionFrameRate = (media: MediaMetadata): number | undefined => {
  const rate = media.video?.frameRate;
  if (rate === undefined || !Number.isFinite(rate) || rate <= 0) return undefined;
  const capped = Math.min(WEB_RENDITION.maxFrameRate, Math.round(rate * 1000) / 1000);
  return media.video?.variableFrameRate || rate > WEB_RENDITION.maxFrameRate ? capped : undefined;
};

/** What the workflow does with a probed file. */
export type MediaVerdict =
  | {
      readonly outcome: 'VIDEO';
      readonly media: MediaMetadata;
      /** Human-readable notes that do not stop the file (a variable frame rate made constant). */
      readonly notes: readonly string[];
    }
  | { readonly outcome: 'AUDIO'; readonly media: MediaMetadata; readonly notes: readonly string[] }
  | { readonly outcome: 'REJECTED' | 'FAILED'; readonly reason: string };

const formatDuration = (seconds: number): string => {
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h} h ${m} min ${s} s` : m > 0 ? `${m} min ${s} s` : `${s} s`;
};

/**
 * Decides from a probe what becomes of a file: a video is transcoded, an audio file is kept
 * with its metadata (players read MP3, AAC, WAV, FLAC and Opus as they are), anything over the
 * stage's limits or turned at an angle no player supports is REJECTED with the reason.
 */
export const judgeMedia = (media: MediaMetadata, limits: VideoLimits): MediaVerdict => {
  if (!Number.isFinite(media.durationSeconds) || media.durationSeconds <= 0) {
    return {
      outcome: 'FAILED',
      reason: `The ${media.container} file has no duration: it is cut short or damaged.`,
    };
  }
  if (media.durationSeconds > limits.maxDurationSeconds) {
    return {
      outcome: 'REJECTED',
      reason: `The media lasts ${formatDuration(media.durationSeconds)}, over the limit of ${formatDuration(limits.maxDurationSeconds)}.`,
    };
  }
  const notes: string[] = [];
  const video = media.video;
  if (!video) {
    if (!media.audio) {
      return {
        outcome: 'REJECTED',
        reason: `The ${media.container} file holds neither a video nor an audio stream.`,
      };
    }
    return { outcome: 'AUDIO', media, notes };
  }
  if (video.width <= 0 || video.height <= 0) {
    return {
      outcome: 'FAILED',
      reason: 'The video stream has no frame size: the file is cut short or damaged.',
    };
  }
  if (
    Math.max(video.width, video.height) > limits.maxFrameSide ||
    video.width * video.height > limits.maxFramePixels
  ) {
    return {
      outcome: 'REJECTED',
      reason: `The video's frames are ${video.width} × ${video.height}, over the limit of ${limits.maxFrameSide} pixels a side and ${limits.maxFramePixels} pixels a frame.`,
    };
  }
  if (![0, 90, 180, 270].includes(video.rotation)) {
    return {
      outcome: 'REJECTED',
      reason: `The video asks to be shown turned by ${video.rotation}°; only quarter turns (0°, 90°, 180°, 270°) can be played.`,
    };
  }
  if (video.variableFrameRate) {
    const rate = renditionFrameRate(media);
    notes.push(
      rate === undefined
        ? 'The video has a variable frame rate; the web rendition keeps the timing of its frames.'
        : `The video has a variable frame rate; the web rendition plays at a constant ${rate} frames a second.`,
    );
  }
  return { outcome: 'VIDEO', media, notes };
};

/**
 * What both transcoders are told for one video: the rendition's frame size and rate, and when
 * to take the poster frames (MediaConvert's frame capture takes `captureNumerator /
 * captureDenominator` frames a second, at most `captureCount`; ffmpeg is given the same rate).
 */
export interface TranscodePlan {
  readonly width: number;
  readonly height: number;
  /** Forced constant frame rate, or absent to keep the source's. */
  readonly frameRate?: number;
  readonly hasAudio: boolean;
  readonly durationSeconds: number;
  readonly captureNumerator: number;
  readonly captureDenominator: number;
  readonly captureCount: number;
}

/** The plan for a video the probe accepted. */
export const transcodePlan = (media: MediaMetadata): TranscodePlan => {
  const video = media.video;
  const { width, height } = renditionSize(video?.displayWidth ?? 2, video?.displayHeight ?? 2);
  const frameRate = renditionFrameRate(media);
  // Frames at 0, d/n, 2d/n…: the first is often a fade from black, the others are the choice.
  const durationMs = Math.max(1, Math.round(media.durationSeconds * 1000));
  return {
    width,
    height,
    ...(frameRate !== undefined && { frameRate }),
    hasAudio: media.audio !== undefined,
    durationSeconds: media.durationSeconds,
    captureNumerator: POSTER_FRAMES.count * 1000,
    captureDenominator: durationMs,
    captureCount: POSTER_FRAMES.count,
  };
};
