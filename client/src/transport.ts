import { AbortError } from './errors.ts';

/** Thrown when S3 answered a transfer with an error status (the body is S3's XML). */
export class TransferError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

export interface TransferOptions {
  /** Bytes of this request sent so far (may go back to 0 when the request is retried). */
  readonly onProgress?: (loaded: number) => void;
  readonly signal?: AbortSignal;
  /** Give up when no byte moved for this long: a stalled connection, not a slow one. */
  readonly stallTimeoutMs?: number;
}

/** How bytes reach S3: XHR in browsers (upload progress), fetch elsewhere. */
export interface Transport {
  /** PUTs one part; resolves with its ETag. */
  putPart(url: string, body: Blob | Uint8Array, options: TransferOptions): Promise<string>;
  /** Sends a presigned POST form. */
  postForm(
    url: string,
    fields: Record<string, string>,
    file: Blob,
    options: TransferOptions,
  ): Promise<void>;
}

const DEFAULT_STALL_MS = 30_000;

/**
 * XMLHttpRequest, because fetch reports no upload progress in every browser. A request whose
 * progress stops for `stallTimeoutMs` is aborted (time-out on a stall, never on total time, so a
 * slow line still finishes a large part).
 */
export const xhrTransport = (): Transport => {
  const send = (
    method: string,
    url: string,
    body: XMLHttpRequestBodyInit,
    options: TransferOptions,
  ): Promise<XMLHttpRequest> =>
    new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new AbortError());
        return;
      }
      const xhr = new XMLHttpRequest();
      const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_MS;
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      let stalled = false;
      const armStall = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          stalled = true;
          xhr.abort();
        }, stallMs);
      };
      const onAbort = () => xhr.abort();
      const done = () => {
        clearTimeout(stallTimer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      xhr.open(method, url);
      xhr.upload.onprogress = (event) => {
        armStall();
        options.onProgress?.(event.loaded);
      };
      xhr.onload = () => {
        done();
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
        else reject(new TransferError(xhr.status, `S3 answered ${xhr.status}`));
      };
      xhr.onerror = () => {
        done();
        reject(new TransferError(0, 'The connection failed'));
      };
      xhr.onabort = () => {
        done();
        reject(
          stalled ? new TransferError(0, `No progress for ${stallMs / 1000} s`) : new AbortError(),
        );
      };
      armStall();
      xhr.send(body);
    });
  return {
    async putPart(url, body, options) {
      const xhr = await send('PUT', url, body as XMLHttpRequestBodyInit, options);
      const etag = xhr.getResponseHeader('etag');
      if (!etag)
        throw new TransferError(
          xhr.status,
          'S3 did not show the part ETag (bucket CORS must expose it)',
        );
      return etag;
    },
    async postForm(url, fields, file, options) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append('file', file);
      await send('POST', url, form, options);
    },
  };
};

/**
 * fetch, for Node.js and other runtimes without XHR: progress is reported once a request is
 * done, and a stall is a whole request that takes longer than the stall limit per 8 MiB.
 */
export const fetchTransport = (fetchImpl: typeof fetch = globalThis.fetch): Transport => {
  const send = async (url: string, init: RequestInit, size: number, options: TransferOptions) => {
    const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_MS;
    const limit = stallMs * Math.max(1, Math.ceil(size / (8 * 1024 ** 2)));
    const signal = AbortSignal.any([
      AbortSignal.timeout(limit),
      ...(options.signal ? [options.signal] : []),
    ]);
    let response: Response;
    try {
      response = await fetchImpl(url, { ...init, signal });
    } catch (cause) {
      if (options.signal?.aborted) throw new AbortError();
      throw new TransferError(0, `The connection failed: ${(cause as Error).message}`);
    }
    if (!response.ok) {
      throw new TransferError(
        response.status,
        `S3 answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    }
    await response.arrayBuffer();
    options.onProgress?.(size);
    return response;
  };
  return {
    async putPart(url, body, options) {
      const size = body instanceof Uint8Array ? body.byteLength : body.size;
      const response = await send(url, { method: 'PUT', body: body as BodyInit }, size, options);
      const etag = response.headers.get('etag');
      if (!etag) throw new TransferError(response.status, 'S3 did not show the part ETag');
      return etag;
    },
    async postForm(url, fields, file, options) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append('file', file);
      await send(url, { method: 'POST', body: form }, file.size, options);
    },
  };
};

/** XHR where there is one (browsers), fetch elsewhere. */
export const defaultTransport = (): Transport =>
  typeof XMLHttpRequest === 'function' ? xhrTransport() : fetchTransport();
