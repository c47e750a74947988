import { createHash } from 'node:crypto';
import type { Derivative } from './file-record.ts';
import { derivedKey } from './keys.ts';
import type { mediaConvertJobSettings } from './mediaconvert-settings.ts';
import {
  type MediaMetadata,
  POSTER_FRAMES,
  posterFrameName,
  type TranscodePlan,
  WEB_RENDITION,
} from './video.ts';

/**
 * The contract between whoever starts the video state machine (the video kind's processor) and
 * its steps. The execution's input is `{ job }`; each step adds its result under its own name
 * (`probe`, `transcode`, `poster`, `record`), and a caught error lands in `error`.
 */
export interface VideoJob {
  readonly fileId: string;
  readonly ownerId: string;
  readonly bucket: string;
  /** The original's key, `uploads/{ownerId}/{fileId}`. */
  readonly key: string;
  /** The S3 version the processor claimed (FileRepository.startProcessing). */
  readonly versionId?: string;
  /** `objectVersionOf` that version: what the record's writes are guarded by. */
  readonly objectVersion: string;
  /** What the processor learnt while it hashed and sniffed the bytes. */
  readonly size: number;
  readonly contentType: string;
  readonly sha256: string | null;
  /** Set when the run is an explicit reprocess request: it names a new execution. */
  readonly reprocessId?: string;
}

/** Where the MediaConvert job reads and writes, as `s3://` URLs (its API's own form). */
export interface TranscodeTargets {
  /** The checked version's private copy ({@link transcodeSourceKey}), never the original's key. */
  readonly input: string;
  /** A destination ending in the base name: MediaConvert appends `.mp4`. */
  readonly rendition: string;
  /** Frame captures are `<this>.0000000.jpg`, `<this>.0000001.jpg`… */
  readonly frames: string;
}

/** The probe step's answer; the state machine's Choice reads `probe.outcome`. */
export type ProbeStepResult =
  | {
      readonly outcome: 'VIDEO';
      readonly media: MediaMetadata;
      readonly notes: readonly string[];
      readonly plan: TranscodePlan;
      readonly targets: TranscodeTargets;
      /** MediaConvert's `Settings` for this file: the AWS transcode task passes them as they are. */
      readonly jobSettings: ReturnType<typeof mediaConvertJobSettings>;
    }
  | { readonly outcome: 'AUDIO'; readonly media: MediaMetadata; readonly notes: readonly string[] }
  | { readonly outcome: 'REJECTED' | 'FAILED'; readonly reason: string };

/** What a transcoder leaves for the next steps (its outputs sit at the keys below). */
export interface TranscodeStepResult {
  /** MediaConvert's job id, or `local` for ffmpeg on this machine. */
  readonly jobId: string;
}

export interface PosterStepResult {
  readonly derivatives: readonly Derivative[];
}

/** States' own error, as a Catch puts it in `error`: `Cause` is JSON for a Lambda error. */
export interface StepError {
  readonly Error: string;
  readonly Cause?: string;
}

export interface VideoExecutionState {
  readonly job: VideoJob;
  readonly probe?: ProbeStepResult;
  readonly transcode?: TranscodeStepResult;
  readonly poster?: PosterStepResult;
  readonly error?: StepError;
}

/** The web rendition's key. */
export const renditionKey = (ownerId: string, fileId: string): string =>
  derivedKey(ownerId, fileId, WEB_RENDITION.name);

/** The key of the n-th poster frame, as both transcoders write it. */
export const posterFrameKey = (ownerId: string, fileId: string, index: number): string =>
  derivedKey(ownerId, fileId, posterFrameName(index));

/** The prefix of the poster frames, removed once the poster is made. */
export const posterFramesPrefix = (ownerId: string, fileId: string): string =>
  derivedKey(ownerId, fileId, POSTER_FRAMES.prefix);

/**
 * One run of the workflow: its object version and reprocess request, hashed (an S3 version id
 * or ETag may hold characters an execution name or a key should not).
 */
const runHash = (job: Pick<VideoJob, 'objectVersion' | 'reprocessId'>): string =>
  createHash('sha256')
    .update(job.objectVersion)
    .update('\n')
    .update(job.reprocessId ?? '')
    .digest('hex')
    .slice(0, 32);

/**
 * Where the MediaConvert path copies the checked version of the original for the job to read:
 * MediaConvert's input is an `s3://` URL with no way to name a version, and the original's key
 * may have received other bytes since they were checked (a form sent again). A private copy
 * under the file's `derived/` prefix, one per run, removed when the run ends (the poster step,
 * the failure path) and with the file's other derived objects when the file is deleted.
 */
export const transcodeSourceKey = (
  job: Pick<VideoJob, 'ownerId' | 'fileId' | 'objectVersion' | 'reprocessId'>,
): string => derivedKey(job.ownerId, job.fileId, `staging/${runHash(job)}`);

export const transcodeTargets = (job: VideoJob): TranscodeTargets => ({
  input: `s3://${job.bucket}/${transcodeSourceKey(job)}`,
  rendition: `s3://${job.bucket}/${renditionKey(job.ownerId, job.fileId).replace(/\.mp4$/, '')}`,
  frames: `s3://${job.bucket}/${posterFramesPrefix(job.ownerId, job.fileId)}${POSTER_FRAMES.baseName}`,
});

/**
 * The execution's name: one per file, object version and reprocess request, so a replayed
 * event cannot start a second execution (Step Functions refuses a name it has seen for 90 days
 * in a Standard state machine) while a reprocess starts a new one. Names allow 80 characters of
 * `[A-Za-z0-9_-]`; an S3 version id or ETag may hold others, hence the hash.
 */
export const videoExecutionName = (
  job: Pick<VideoJob, 'fileId' | 'objectVersion' | 'reprocessId'>,
): string => `${job.fileId}-${runHash(job)}`;

/** The detail-type of progress events on the custom bus (and of the WebSocket message). */
export const FILE_PROGRESS = 'file.progress';

/**
 * The local transcoder's progress, put on the default bus as MediaConvert's status updates
 * are, so one rule and one function record progress on every stage.
 */
export const LOCAL_PROGRESS_SOURCE = 'syncflow.video';
export const LOCAL_PROGRESS_DETAIL_TYPE = 'Transcode Progress';
/** MediaConvert's own event, with `detail.status` STATUS_UPDATE and `jobPercentComplete`. */
export const MEDIACONVERT_SOURCE = 'aws.mediaconvert';
export const MEDIACONVERT_DETAIL_TYPE = 'MediaConvert Job State Change';

/** Shortest time between two progress messages of one file from the local transcoder. */
export const PROGRESS_INTERVAL_MS = 3000;
