import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { normaliseContentType } from './content-types.ts';
import { HttpError } from './errors.ts';

/** Limits that differ per stage (infra/stages.ts). */
export interface UploadLimits {
  readonly maxUploadBytes: number;
  readonly allowedContentTypes: readonly string[];
  readonly uploadUrlTtlSeconds: number;
}

export const UploadRequestSchema = z.strictObject({
  filename: z.string().min(1).max(1024),
  contentType: z.string().min(1).max(255),
  size: z.number().int().positive(),
  checksumSha256: z.string().optional(),
});

export type UploadRequest = z.infer<typeof UploadRequestSchema>;

export interface ValidUpload {
  readonly fileId: string;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  /** Lower-case hex SHA-256, if the client gave one. */
  readonly checksumSha256: string | null;
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

const describeIssue = (issue: z.core.$ZodIssue): string => {
  const field = issue.path.join('.') || 'body';
  return `${field}: ${issue.message}`;
};

/** Checks a `POST /uploads` body against the stage's limits; throws HttpError with a 4xx. */
export const validateUploadRequest = (body: unknown, limits: UploadLimits): ValidUpload => {
  const parsed = UploadRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError('BAD_REQUEST', parsed.error.issues.map(describeIssue).join('; '));
  }
  const request = parsed.data;
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
  return { fileId: randomUUID(), filename, contentType, size: request.size, checksumSha256 };
};
