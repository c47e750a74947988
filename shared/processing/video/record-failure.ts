import { derivedPrefix } from '../../domain/keys.ts';
import {
  type StepError,
  transcodeSourceKey,
  type VideoExecutionState,
} from '../../domain/video-workflow.ts';
import { FFMPEG_FAILED, FFMPEG_MISSING } from './ffmpeg.ts';
import { type RecordDeps, type RecordResult, writeEnd } from './record-video.ts';

/**
 * Errors whose message is written for a person (shared/domain/errors.ts and ffmpeg.ts): it may
 * go on the record as it is. Anything else is ours, and the record gets a sentence instead.
 */
const SHOWN_ERRORS = new Set([
  'PermanentProcessingError',
  'RejectedFileError',
  'FfmpegMissingError',
  'FfmpegFailedError',
]);

const parseCause = (cause: string | undefined): Record<string, unknown> => {
  if (!cause) return {};
  try {
    const parsed: unknown = JSON.parse(cause);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

/**
 * MiniStack names every function error `Runtime.HandlerError` (AWS names it after the error's
 * class): there, a message is shown only when it begins as one of ours does.
 */
const SHOWN_OPENINGS = [FFMPEG_MISSING, FFMPEG_FAILED];

/** The sentence a FAILED video's record carries for the error a step ended with. */
export const failureReason = (error: StepError | undefined): string => {
  const name = error?.Error ?? 'an unknown error';
  const cause = parseCause(error?.Cause);
  const message = typeof cause.errorMessage === 'string' ? cause.errorMessage : undefined;
  if (message !== undefined && SHOWN_ERRORS.has(name)) return message;
  if (
    message !== undefined &&
    name === 'Runtime.HandlerError' &&
    SHOWN_OPENINGS.some((opening) => message.startsWith(opening))
  ) {
    return message;
  }
  if (name === 'States.Timeout' || name === 'States.HeartbeatTimeout') {
    return 'Processing the video took longer than its step may run; reprocess it to try again.';
  }
  // MediaConvert's own message names its internals (demuxers, codecs, job settings): it goes to
  // the log, with the whole error, by fileId (functions/video-fail.ts), never on the record.
  if (name.startsWith('MediaConvert')) {
    return 'The video could not be transcoded; reprocess it to try again, or upload it in another format.';
  }
  // The error's name is ours to read in the log (video-fail logs the whole error by fileId).
  return 'The video could not be processed; reprocess it to try again.';
};

/**
 * The workflow's failure path: ends the file FAILED with a reason a person can read, by the
 * same rules as every end state (the version the file holds, never a deleted file).
 */
export const recordVideoFailure = async (
  deps: RecordDeps,
  state: VideoExecutionState,
): Promise<RecordResult> => {
  const { job } = state;
  const result = await writeEnd(deps, job, {
    status: 'FAILED',
    metadata: state.probe && 'media' in state.probe ? { media: state.probe.media } : {},
    derivatives: [],
    reason: failureReason(state.error),
  });
  // What the run wrote before it failed (a rendition without its poster) is nobody's: the
  // record names no derivative now.
  // The transcoder's copy of the original (MediaConvert's path) goes whatever the record says:
  // a run that could not write its end (a newer run holds the file) leaves no copy behind.
  await deps.deleteEverything(job.bucket, [
    ...(result.recorded ? [derivedPrefix(job.ownerId, job.fileId)] : []),
    transcodeSourceKey(job),
  ]);
  return result;
};
