import { POSTER_FRAMES, type TranscodePlan, WEB_RENDITION } from './video.ts';
import type { TranscodeTargets } from './video-workflow.ts';

/**
 * AWS Elemental MediaConvert's job settings for the web rendition and the poster frames, from
 * the same numbers the local ffmpeg follows (`WEB_RENDITION`, `POSTER_FRAMES`). Plain JSON in
 * the API's own shape, no SDK: the probe step computes a job's settings, the stack's job
 * template holds the parts every job shares.
 */

const AUDIO_SELECTOR = 'Audio Selector 1';

const h264Settings = (plan?: TranscodePlan) => ({
  RateControlMode: 'QVBR',
  QvbrSettings: { QvbrQualityLevel: WEB_RENDITION.qvbrLevel },
  MaxBitrate: WEB_RENDITION.maxBitRate,
  CodecProfile: 'HIGH',
  CodecLevel: 'LEVEL_4',
  GopSize: WEB_RENDITION.gopSeconds,
  GopSizeUnits: 'SECONDS',
  SceneChangeDetect: 'TRANSITION_DETECTION',
  // Single pass keeps the job in MediaConvert's Basic tier (docs/video.md, cost).
  QualityTuningLevel: 'SINGLE_PASS',
  ...(plan?.frameRate !== undefined
    ? {
        FramerateControl: 'SPECIFIED',
        FramerateConversionAlgorithm: 'DUPLICATE_DROP',
        FramerateNumerator: Math.round(plan.frameRate * 1000),
        FramerateDenominator: 1000,
      }
    : { FramerateControl: 'INITIALIZE_FROM_SOURCE' }),
});

const audioDescription = {
  AudioSourceName: AUDIO_SELECTOR,
  CodecSettings: {
    Codec: 'AAC',
    AacSettings: {
      Bitrate: WEB_RENDITION.audioBitRate,
      CodingMode: 'CODING_MODE_2_0',
      SampleRate: WEB_RENDITION.audioSampleRate,
    },
  },
};

/** The two output groups; `plan` and `targets` fill in what differs from one file to the next. */
export const mediaConvertOutputGroups = (plan?: TranscodePlan, targets?: TranscodeTargets) => [
  {
    Name: 'Web rendition',
    OutputGroupSettings: {
      Type: 'FILE_GROUP_SETTINGS',
      FileGroupSettings: targets ? { Destination: targets.rendition } : {},
    },
    Outputs: [
      {
        // Index first (moov before mdat): a <video> starts after its first range request.
        ContainerSettings: {
          Container: 'MP4',
          Mp4Settings: { MoovPlacement: 'PROGRESSIVE_DOWNLOAD' },
        },
        VideoDescription: {
          ...(plan && { Width: plan.width, Height: plan.height }),
          ScalingBehavior: 'DEFAULT',
          CodecSettings: { Codec: 'H_264', H264Settings: h264Settings(plan) },
        },
        ...((plan === undefined || plan.hasAudio) && { AudioDescriptions: [audioDescription] }),
      },
    ],
  },
  {
    Name: 'Poster frames',
    OutputGroupSettings: {
      Type: 'FILE_GROUP_SETTINGS',
      FileGroupSettings: targets ? { Destination: targets.frames } : {},
    },
    Outputs: [
      {
        ContainerSettings: { Container: 'RAW' },
        VideoDescription: {
          ...(plan && { Width: plan.width, Height: plan.height }),
          CodecSettings: {
            Codec: 'FRAME_CAPTURE',
            FrameCaptureSettings: {
              FramerateNumerator: plan?.captureNumerator ?? 1,
              FramerateDenominator: plan?.captureDenominator ?? 1,
              MaxCaptures: plan?.captureCount ?? POSTER_FRAMES.count,
              Quality: 80,
            },
          },
        },
      },
    ],
  },
];

/** The input: turned as its display matrix says (`Rotate: AUTO`), its first audio track. */
const mediaConvertInput = (plan?: TranscodePlan, targets?: TranscodeTargets) => ({
  ...(targets && { FileInput: targets.input }),
  TimecodeSource: 'ZEROBASED',
  VideoSelector: { Rotate: 'AUTO' },
  ...((plan === undefined || plan.hasAudio) && {
    AudioSelectors: { [AUDIO_SELECTOR]: { DefaultSelection: 'DEFAULT' } },
  }),
});

/** One file's complete job settings (CreateJob's `Settings`). */
export const mediaConvertJobSettings = (plan: TranscodePlan, targets: TranscodeTargets) => ({
  TimecodeConfig: { Source: 'ZEROBASED' },
  Inputs: [mediaConvertInput(plan, targets)],
  OutputGroups: mediaConvertOutputGroups(plan, targets),
});

/**
 * The job template's settings: everything but the input, the destinations and the frame size.
 * A job names the template and passes its complete settings, so what runs never depends on how
 * MediaConvert merges the two.
 */
export const mediaConvertTemplateSettings = () => ({
  TimecodeConfig: { Source: 'ZEROBASED' },
  Inputs: [mediaConvertInput()],
  OutputGroups: mediaConvertOutputGroups(),
});
