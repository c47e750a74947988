import type { ErrorCode } from './types.ts';

/**
 * A response of the API that was not a success: the status, the contract's error code and
 * message, API Gateway's request id (for the operator's logs) and the parsed body.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'NETWORK' | 'TIMEOUT' | 'UNKNOWN';
  readonly requestId: string | undefined;
  readonly body: unknown;
  /** Seconds the server asked to wait (`Retry-After`), if it did. */
  readonly retryAfter: number | undefined;

  constructor(input: {
    status: number;
    code: ApiError['code'];
    message: string;
    requestId?: string | undefined;
    body?: unknown;
    retryAfter?: number | undefined;
    cause?: unknown;
  }) {
    super(input.message, { cause: input.cause });
    this.name = 'ApiError';
    this.status = input.status;
    this.code = input.code;
    this.requestId = input.requestId;
    this.body = input.body;
    this.retryAfter = input.retryAfter;
  }
}

/** The user's own abort (pause, cancel, leaving the page): never retried, never reported as a failure. */
export class AbortError extends Error {
  constructor(message = 'Aborted') {
    super(message);
    this.name = 'AbortError';
  }
}

export const isAbort = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || error instanceof AbortError);
