import { HttpError } from './errors.ts';

/**
 * What one user may ask of the API per minute, and how many uploads they may leave open, per
 * stage (infra/stages.ts). API Gateway's stage throttling stays behind these as a backstop for
 * the whole API; these keep one user from crowding out the others and from queuing work without
 * end.
 */
export interface RequestLimits {
  /** `POST /uploads` requests per user per minute. */
  readonly uploadsPerMinute: number;
  /** `POST /files/{fileId}/reprocess` requests per user per minute. */
  readonly reprocessPerMinute: number;
  /** Files a user may have in PENDING_UPLOAD (URL handed out, nothing arrived yet). */
  readonly pendingUploads: number;
}

/** What is counted per user and minute. */
export type LimitedAction = 'upload' | 'reprocess';

/** Requests are counted in fixed windows of this many seconds. */
export const REQUEST_WINDOW_SECONDS = 60;

/** The start of the counting window `now` falls in. */
export const requestWindow = (now: Date): Date => {
  const size = REQUEST_WINDOW_SECONDS * 1000;
  return new Date(Math.floor(now.getTime() / size) * size);
};

/** Whole seconds until the window of `now` ends: the `Retry-After` of a refused request. */
export const secondsLeftInWindow = (now: Date): number => {
  const ends = requestWindow(now).getTime() + REQUEST_WINDOW_SECONDS * 1000;
  return Math.max(1, Math.ceil((ends - now.getTime()) / 1000));
};

/** The 429 of a request over a per-user limit, with the `Retry-After` a client should honour. */
export const tooManyRequests = (message: string, retryAfterSeconds: number): HttpError =>
  new HttpError('TOO_MANY_REQUESTS', message, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
