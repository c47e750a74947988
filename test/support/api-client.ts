import { responseProblems } from './openapi.ts';

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/**
 * The REST API as a user's program calls it, with one user's token. Every response to a
 * documented route is checked against docs/openapi.yaml; a mismatch fails the test.
 */
export class ApiClient {
  constructor(
    private readonly restUrl: string,
    private readonly token: string | undefined,
  ) {}

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

/** A file as `GET /files/{fileId}` describes it. */
export interface FileView {
  fileId: string;
  filename: string;
  status: string;
  size: number;
  contentType: string;
  sha256: string | null;
  reason: string | null;
  metadata: { image?: { width: number; height: number } };
  processedAt: string | null;
  download: { url: string } | null;
  derivatives: { name: string; url: string; width: number; height: number }[];
}

export interface FilePage {
  items: { fileId: string; filename: string; status: string }[];
  nextCursor: string | null;
}

/** Asks for an upload and POSTs the bytes to the presigned form, as a browser does. */
export const uploadFile = async (
  api: ApiClient,
  filename: string,
  contentType: string,
  data: Buffer,
): Promise<string> => {
  const response = await api.request<{
    fileId: string;
    upload: { url: string; fields: Record<string, string> };
  }>('POST', '/uploads', { body: { filename, contentType, size: data.length } });
  if (response.status !== 201) {
    throw new Error(`POST /uploads answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  const form = new FormData();
  for (const [name, value] of Object.entries(response.body.upload.fields)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(data)], { type: contentType }), filename);
  const posted = await fetch(response.body.upload.url, { method: 'POST', body: form });
  if (posted.status >= 300) throw new Error(`The presigned POST answered ${posted.status}`);
  return response.body.fileId;
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
    const response = await api.request<FileView>('GET', `/files/${fileId}`);
    if (response.status === 200 && until(response.body)) return response.body;
    if (Date.now() > deadline) {
      throw new Error(`${fileId} is still ${JSON.stringify(response.body)} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** The key of a file's original, read from its presigned download URL (path- or host-style). */
export const objectKeyOf = (file: FileView): string => {
  const path = decodeURIComponent(new URL(file.download?.url ?? '').pathname);
  return path.slice(path.indexOf('uploads/'));
};
