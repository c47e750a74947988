import { AbortError } from './errors.ts';

/** How a failed attempt is retried: capped exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Attempts after the first. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 300, maxDelayMs: 10_000 };

/**
 * The wait before retry `attempt` (1-based): a random time up to the capped exponential, so
 * many clients that failed together do not come back together. `retryAfterSeconds` from the
 * server wins when it asks for longer.
 */
export const backoffDelay = (
  attempt: number,
  policy: RetryPolicy,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number => {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(random() * cap);
  return retryAfterSeconds !== undefined ? Math.max(jittered, retryAfterSeconds * 1000) : jittered;
};

/** Statuses worth another try: timeouts, throttling and the server's own failures. */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `Retry-After` in seconds, from either of its forms. */
export const parseRetryAfter = (value: string | null, now = Date.now()): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
};
