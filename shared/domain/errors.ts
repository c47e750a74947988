/** Error codes of the REST contract's `{error: {code, message}}` body. */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNPROCESSABLE'
  | 'TOO_MANY_REQUESTS'
  | 'INTERNAL'
  | 'UNAVAILABLE';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/**
 * An error a client caused, a service we depend on that did not answer (503), or our own 500.
 * `expose` says whether the message may be shown to the caller: true for every 4xx and for 503
 * (its message says what is unavailable, so the caller knows to try again), false for 500
 * (whose message stays in the logs).
 */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly expose: boolean;
  /** Headers the response carries besides the JSON ones (`Retry-After` on a 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.code = code;
    this.statusCode = STATUS_BY_CODE[code];
    this.expose = this.statusCode < 500 || code === 'UNAVAILABLE';
    this.headers = options?.headers ?? {};
  }
}

/** Base class of processing errors; `permanent` ones are not retried. */
export class ProcessingError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessingError';
    this.permanent = permanent;
  }
}

/** The file itself is the problem (corrupt, unsupported, too large): retrying will not help. */
export class PermanentProcessingError extends ProcessingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
    this.name = 'PermanentProcessingError';
  }
}

/** The file's bytes contradict what the uploader declared. */
export class RejectedFileError extends ProcessingError {
  constructor(message: string) {
    super(message, true);
    this.name = 'RejectedFileError';
  }
}
