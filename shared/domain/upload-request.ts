import { randomUUID } from 'node:crypto';
import { normaliseContentType } from './content-types.ts';
import { HttpError } from './errors.ts';
import {
  datasetFromFilename,
  defaultKind,
  FILE_KINDS,
  type FileKind,
  isFileKind,
  normaliseDatasetName,
} from './kinds.ts';

/** Limits that differ per stage (infra/stages.ts). */
export interface UploadLimits {
  readonly maxUploadBytes: number;
  readonly allowedContentTypes: readonly string[];
  readonly uploadUrlTtlSeconds: number;
}

/** The body of `POST /uploads`, as the contract (docs/openapi.yaml) gives it. */
export interface UploadRequest {
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly checksumSha256?: string;
  /** A shorter life for the upload URL than the stage's, for a client that sends at once. */
  readonly expiresInSeconds?: number;
  /** How the file is processed; default from its type and name (`defaultKind`). */
  readonly kind?: string;
  /** The dataset a tabular file joins; default from its filename. */
  readonly dataset?: string;
}

const FIELDS = new Set([
  'filename',
  'contentType',
  'size',
  'checksumSha256',
  'expiresInSeconds',
  'kind',
  'dataset',
]);

/**
 * Checks the body's shape and names every problem at once. Written by hand rather than with a
 * schema library: it keeps the upload function's bundle small, which is its cold start.
 */
const parseUploadRequest = (body: unknown): UploadRequest => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('BAD_REQUEST', 'body: must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) problems.push(`${key}: is not a known field`);
  }
  const text = (name: string, max: number, required: boolean): void => {
    const value = input[name];
    if (value === undefined) {
      if (required) problems.push(`${name}: is required`);
    } else if (typeof value !== 'string') {
      problems.push(`${name}: must be a string`);
    } else if (value.length < 1 || value.length > max) {
      problems.push(`${name}: must be 1 to ${max} characters long`);
    }
  };
  text('filename', 1024, true);
  text('contentType', 255, true);
  text('checksumSha256', 255, false);
  text('dataset', 64, false);
  if (input.kind !== undefined && !isFileKind(input.kind)) {
    problems.push(`kind: must be one of ${FILE_KINDS.join(', ')}`);
  }
  const size = input.size;
  if (size === undefined) problems.push('size: is required');
  else if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
    problems.push('size: must be a positive whole number of bytes');
  }
  const expires = input.expiresInSeconds;
  if (
    expires !== undefined &&
    (typeof expires !== 'number' || !Number.isSafeInteger(expires) || expires < 1)
  ) {
    problems.push('expiresInSeconds: must be a positive whole number of seconds');
  }
  if (problems.length > 0) throw new HttpError('BAD_REQUEST', problems.join('; '));
  return input as unknown as UploadRequest;
};

export interface ValidUpload {
  readonly fileId: string;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  /** Lower-case hex SHA-256, if the client gave one. */
  readonly checksumSha256: string | null;
  /** How long the upload URL is valid: the stage's lifetime, or less if the client asked. */
  readonly expiresInSeconds: number;
  readonly kind: FileKind;
  /** Tabular files only: the dataset the file joins. */
  readonly dataset: string | null;
}

const MAX_FILENAME_BYTES = 255;

/**
 * A filename safe to store and to send back in `Content-Disposition`: the last path segment,
 * NFC-normalised, without control or bidi-override characters, at most 255 UTF-8 bytes.
 * The name never reaches an object key, so this is about display and download, not storage.
 */
export const sanitiseFilename = (raw: string): string | undefined => {
  const lastSegment = raw.split(/[\\/]/).pop() ?? '';
  let name = lastSegment
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim();
  name = name.replace(/^\.+/, '').trim();
  if (name === '' || name === '.' || name === '..') return undefined;
  while (Buffer.byteLength(name, 'utf8') > MAX_FILENAME_BYTES) {
    name = Array.from(name).slice(0, -1).join('');
  }
  return name;
};

/** SHA-256 as hex or base64 (as S3's x-amz-checksum-sha256) → lower-case hex. */
export const parseSha256 = (value: string): string | undefined => {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  if (/^[A-Za-z0-9+/]{43}=$/.test(value)) {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length === 32) return bytes.toString('hex');
  }
  return undefined;
};

/** Checks a `POST /uploads` body against the stage's limits; throws HttpError with a 4xx. */
export const validateUploadRequest = (body: unknown, limits: UploadLimits): ValidUpload => {
  const request = parseUploadRequest(body);
  const filename = sanitiseFilename(request.filename);
  if (filename === undefined) {
    throw new HttpError('BAD_REQUEST', 'filename: must contain at least one visible character');
  }
  const contentType = normaliseContentType(request.contentType);
  if (contentType === undefined) {
    throw new HttpError(
      'BAD_REQUEST',
      `contentType: ${JSON.stringify(request.contentType)} is not a MIME type`,
    );
  }
  if (!limits.allowedContentTypes.includes(contentType)) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `contentType: ${contentType} is not accepted; accepted types are ${limits.allowedContentTypes.join(', ')}`,
    );
  }
  if (request.size > limits.maxUploadBytes) {
    throw new HttpError(
      'PAYLOAD_TOO_LARGE',
      `size: ${request.size} bytes is over this stage's limit of ${limits.maxUploadBytes} bytes`,
    );
  }
  let checksumSha256: string | null = null;
  if (request.checksumSha256 !== undefined) {
    const parsedChecksum = parseSha256(request.checksumSha256);
    if (parsedChecksum === undefined) {
      throw new HttpError(
        'BAD_REQUEST',
        'checksumSha256: must be a SHA-256 digest in hex or base64',
      );
    }
    checksumSha256 = parsedChecksum;
  }
  if (
    request.expiresInSeconds !== undefined &&
    request.expiresInSeconds > limits.uploadUrlTtlSeconds
  ) {
    throw new HttpError(
      'BAD_REQUEST',
      `expiresInSeconds: must be at most ${limits.uploadUrlTtlSeconds}, this stage's upload URL lifetime`,
    );
  }
  const kind = (request.kind as FileKind | undefined) ?? defaultKind(contentType, filename);
  if (request.dataset !== undefined && kind !== 'tabular') {
    throw new HttpError('BAD_REQUEST', `dataset: only a tabular file joins a dataset, not ${kind}`);
  }
  let dataset: string | null = null;
  if (kind === 'tabular') {
    const named = request.dataset === undefined ? undefined : normaliseDatasetName(request.dataset);
    if (request.dataset !== undefined && named === undefined) {
      throw new HttpError(
        'BAD_REQUEST',
        'dataset: must contain a letter or digit (it is stored lower-cased, other characters as _)',
      );
    }
    dataset = named ?? datasetFromFilename(filename);
  }
  return {
    fileId: randomUUID(),
    filename,
    contentType,
    size: request.size,
    checksumSha256,
    expiresInSeconds: request.expiresInSeconds ?? limits.uploadUrlTtlSeconds,
    kind,
    dataset,
  };
};

/** Files one `POST /uploads/batch` may ask for (docs/openapi.yaml). */
export const MAX_BATCH_FILES = 100;

/**
 * The body of `POST /uploads/batch`: `{files: [...]}` with 1 to MAX_BATCH_FILES requests, each
 * checked later on its own (`validateUploadRequest`), so one bad file does not refuse the rest.
 */
export const parseUploadBatch = (body: unknown): unknown[] => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('BAD_REQUEST', 'body: must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((key) => key !== 'files');
  if (unknown.length > 0) {
    throw new HttpError(
      'BAD_REQUEST',
      unknown.map((key) => `${key}: is not a known field`).join('; '),
    );
  }
  const files = input.files;
  if (!Array.isArray(files)) throw new HttpError('BAD_REQUEST', 'files: must be an array');
  if (files.length < 1 || files.length > MAX_BATCH_FILES) {
    throw new HttpError(
      'BAD_REQUEST',
      `files: must hold 1 to ${MAX_BATCH_FILES} uploads, not ${files.length}`,
    );
  }
  return files;
};
