import { AbortError, ApiError } from './errors.ts';
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from './retry.ts';
import type { ErrorBody } from './types.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpOptions {
  /** The REST API's base URL, ending in `/` (the stage's root). */
  readonly baseUrl: string;
  /** The current ID or access token; called before every attempt, so a refreshed one is used. */
  readonly token: () => Promise<string | undefined>;
  readonly fetch?: FetchLike;
  readonly retry?: RetryPolicy;
  /** One attempt's limit. @default 30 s */
  readonly attemptTimeoutMs?: number;
  /** All attempts' limit, waits included. @default 120 s */
  readonly totalTimeoutMs?: number;
}

/** Methods that change nothing, or change it the same way twice: safe to send again. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * One call to the REST API with the contract's rules: JSON in and out, the user's token, typed
 * `ApiError`s, and retries (idempotent methods only, or a POST the caller marks safe to repeat)
 * on network errors, 408, 429 and 5xx, honouring `Retry-After`. A 429 is retried for every
 * method: the request was refused before anything was done (a per-user limit, the stage's
 * throttling), so sending it again cannot do anything twice.
 */
export const createHttp = (options: HttpOptions) => {
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const policy = options.retry ?? DEFAULT_RETRY;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 120_000;

  return async function request<T>(
    method: string,
    path: string,
    input: {
      body?: unknown;
      query?: Record<string, string | number | undefined>;
      signal?: AbortSignal;
      /** A POST whose repeat is harmless (signing URLs, completing: the server checks S3). */
      retrySafe?: boolean;
    } = {},
  ): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), options.baseUrl);
    for (const [name, value] of Object.entries(input.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
    }
    const retries = IDEMPOTENT.has(method) || input.retrySafe ? policy.retries : 0;
    const deadline = Date.now() + totalTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (input.signal?.aborted) throw new AbortError();
      const token = await options.token();
      const attemptSignal = AbortSignal.any([
        AbortSignal.timeout(Math.min(attemptTimeoutMs, Math.max(1, deadline - Date.now()))),
        ...(input.signal ? [input.signal] : []),
      ]);
      let response: Response;
      try {
        response = await doFetch(url.toString(), {
          method,
          headers: {
            ...(token && { authorization: `Bearer ${token}` }),
            ...(input.body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(input.body !== undefined && { body: JSON.stringify(input.body) }),
          signal: attemptSignal,
        });
      } catch (cause) {
        if (input.signal?.aborted) throw new AbortError();
        const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
        const error = new ApiError({
          status: 0,
          code: timedOut ? 'TIMEOUT' : 'NETWORK',
          message: `${method} ${url.pathname}: ${timedOut ? 'no answer in time' : 'the network failed'}`,
          cause,
        });
        if (attempt >= retries || Date.now() >= deadline) throw error;
        await sleep(backoffDelay(attempt + 1, policy), input.signal);
        continue;
      }
      const text = await response.text();
      let body: unknown = text;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: an error page from something in between; keep the text.
        }
      }
      if (response.ok) return body as T;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      const contractError = (body as Partial<ErrorBody> | undefined)?.error;
      const error = new ApiError({
        status: response.status,
        code: contractError?.code ?? 'UNKNOWN',
        message: contractError?.message ?? `${method} ${url.pathname} answered ${response.status}`,
        requestId:
          response.headers.get('x-amzn-requestid') ??
          response.headers.get('x-amz-request-id') ??
          undefined,
        body,
        retryAfter,
      });
      const wait = backoffDelay(attempt + 1, policy, retryAfter);
      const allowed = response.status === 429 ? policy.retries : retries;
      if (
        !isRetryableStatus(response.status) ||
        attempt >= allowed ||
        Date.now() + wait >= deadline
      ) {
        throw error;
      }
      await sleep(wait, input.signal);
    }
  };
};

export type HttpRequest = ReturnType<typeof createHttp>;
