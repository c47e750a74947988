import {
  ApiError,
  type FileDetail,
  fetchTransport,
  type FilePage as LibraryFilePage,
  SyncFlowApi,
  Uploader,
} from '../../client/src/index.ts';
import { checkedFetch } from './checked-fetch.ts';
import { responseProblems } from './openapi.ts';

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/**
 * Raw HTTP to the REST API with one user's token, for what the client library never sends
 * (malformed bodies, wrong types, no token) and for asserting exact statuses. Uploads and reads
 * go through the client library (`api`, `uploader`). Every response to a documented route is
 * checked against docs/openapi.yaml; a mismatch fails the test.
 */
export class ApiClient {
  /** The client library as this user, answers checked against docs/openapi.yaml. */
  readonly api: SyncFlowApi;
  readonly uploader: Uploader;

  constructor(
    private readonly restUrl: string,
    private readonly token: string | undefined,
  ) {
    this.api = new SyncFlowApi({
      baseUrl: restUrl,
      token: async () => token,
      fetch: checkedFetch(restUrl),
    });
    this.uploader = new Uploader(this.api, restUrl, { transport: fetchTransport() });
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(new URL(path.replace(/^\//, ''), this.restUrl), {
      method,
      headers,
      ...(body !== undefined && { body }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(
          `${method} ${path} answered ${response.status} with a non-JSON body: ${text.slice(0, 200)}`,
        );
      }
    }
    const route = new URL(path, 'http://x').pathname;
    const problems = responseProblems(method, route, response.status, parsed);
    if (problems.length > 0) {
      throw new Error(
        `${method} ${path} → ${response.status} does not match docs/openapi.yaml:\n${problems.join('\n')}\n${text.slice(0, 500)}`,
      );
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }
}

/** A file as `GET /files/{fileId}` describes it, typed by the client library. */
export type FileView = FileDetail;

/** A page of `GET /files`. */
export type FilePage = LibraryFilePage;

/** A presigned POST form as `POST /uploads` answers it. */
export interface UploadForm {
  readonly url: string;
  readonly fields: Record<string, string>;
}

/** Sends bytes to a presigned POST form as a browser does; returns S3's status. */
export const postForm = async (
  form: UploadForm,
  filename: string,
  contentType: string,
  data: Buffer,
): Promise<number> => {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append('file', new Blob([new Uint8Array(data)], { type: contentType }), filename);
  const posted = await fetch(form.url, { method: 'POST', body });
  await posted.arrayBuffer();
  return posted.status;
};

/** Asks for an upload; returns the file's id and its form, without sending anything. */
export const requestUpload = async (
  api: ApiClient,
  request: {
    filename: string;
    contentType: string;
    size: number;
    expiresInSeconds?: number;
    kind?: string;
    dataset?: string;
  },
): Promise<{ fileId: string; form: UploadForm }> => {
  const response = await api.request<{ fileId: string; upload: UploadForm }>('POST', '/uploads', {
    body: request,
  });
  if (response.status !== 201) {
    throw new Error(`POST /uploads answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return { fileId: response.body.fileId, form: response.body.upload };
};

/**
 * Asks for an upload and POSTs the bytes to the presigned form, as a browser does; returns the
 * file's id and the form (which a test may send again).
 */
export const uploadWithForm = async (
  api: ApiClient,
  filename: string,
  contentType: string,
  data: Buffer,
): Promise<{ fileId: string; form: UploadForm }> => {
  const upload = await requestUpload(api, { filename, contentType, size: data.length });
  const status = await postForm(upload.form, filename, contentType, data);
  if (status >= 300) throw new Error(`The presigned POST answered ${status}`);
  return upload;
};

/** Uploads the bytes with the client library, as the console does (a POST, or parts when large). */
export const uploadFile = async (
  api: ApiClient,
  filename: string,
  contentType: string,
  data: Buffer,
): Promise<string> => {
  const file = new File([new Uint8Array(data)], filename, { type: contentType });
  const result = await api.uploader.upload(file, { filename, contentType });
  return result.fileId;
};

const END_STATUSES = new Set(['PROCESSED', 'FAILED', 'REJECTED']);

/** Polls `GET /files/{fileId}` until the file reaches an end state (or `until` says so). */
export const waitForFile = async (
  api: ApiClient,
  fileId: string,
  until: (file: FileView) => boolean = (file) => END_STATUSES.has(file.status),
  timeoutMs = 60_000,
): Promise<FileView> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const file = await api.api.getFile(fileId);
      if (until(file)) return file;
      last = file;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      last = error.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${fileId} is still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** The key of a file's original, read from its presigned download URL (path- or host-style). */
export const objectKeyOf = (file: FileView): string => {
  const path = decodeURIComponent(new URL(file.download?.url ?? '').pathname);
  return path.slice(path.indexOf('uploads/'));
};
