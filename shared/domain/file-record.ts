import type { LogRecordSummary, TabularRecordSummary } from './analytics-summary.ts';
import type { FileKind } from './kinds.ts';
import type { MediaMetadata } from './video.ts';

/** Every state a file can be in; see docs/architecture.md, "Statuses". */
export const FILE_STATUSES = [
  'PENDING_UPLOAD',
  'UPLOADED',
  'PROCESSING',
  'PROCESSED',
  'FAILED',
  'REJECTED',
  'EXPIRED',
  'DELETED',
] as const;

export type FileStatus = (typeof FILE_STATUSES)[number];

/** States the processor ends in; each one is published on the custom bus. */
export const END_STATUSES = ['PROCESSED', 'FAILED', 'REJECTED'] as const;
export type EndStatus = (typeof END_STATUSES)[number];

export const isFileStatus = (value: string): value is FileStatus =>
  (FILE_STATUSES as readonly string[]).includes(value);

/** A derived object (thumbnail, preview, a table's Parquet) written under `derived/`. */
export interface Derivative {
  readonly name: string;
  readonly key: string;
  readonly contentType: string;
  /** Pictures only. */
  readonly width?: number;
  readonly height?: number;
  readonly size: number;
  /** The derived object's own S3 version: its download URL names it. */
  readonly versionId?: string;
  /** The version of the original it was made from (the record's `versionId`). */
  readonly sourceVersionId?: string;
}

/** What the processor learnt about an image. */
export interface ImageMetadata {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly orientation?: number;
  readonly colorSpace?: string;
  readonly hasAlpha?: boolean;
  readonly exif?: Readonly<Record<string, string | number>>;
}

export interface FileMetadata {
  readonly image?: ImageMetadata;
  /** A tabular file's schema, counts and first rows, and where its rows are queryable. */
  readonly tabular?: TabularRecordSummary;
  /** A log file's summary, and where its records are queryable. */
  readonly logs?: LogRecordSummary;
  /** A video's or an audio file's probe (issue 15). */
  readonly media?: MediaMetadata;
}

export interface FileRecord {
  readonly fileId: string;
  readonly ownerId: string;
  readonly filename: string;
  readonly declaredContentType: string;
  readonly declaredSize: number;
  readonly checksumSha256: string | null;
  readonly bucket: string;
  readonly key: string;
  /** Which function processes it (shared/domain/kinds.ts). */
  readonly kind: FileKind;
  /** The dataset a tabular file joins; null for other kinds. */
  readonly dataset: string | null;
  readonly status: FileStatus;
  /** As declared until processed, then the size of the bytes. */
  readonly size: number;
  /** As declared until processed, then the type the bytes show. */
  readonly contentType: string;
  readonly sha256: string | null;
  readonly metadata: FileMetadata;
  readonly derivatives: readonly Derivative[];
  readonly reason: string | null;
  /**
   * The object version the processor took (its S3 version id, else its ETag): the one version
   * whose bytes were checked. Any other version under the key is removed by the pipeline.
   */
  readonly objectVersion: string | null;
  /** The S3 version id of that version, when the bucket gave one: downloads name it. */
  readonly versionId: string | null;
  /** Until when the upload URL `POST /uploads` handed out may be used. */
  readonly uploadExpiresAt: Date | null;
  /** Which delivery of its message the current or last run was (ApproximateReceiveCount). */
  readonly attempts: number;
  /** When the current or last run is stopped by its function's timeout, at the latest. */
  readonly deadline: Date | null;
  /** The reprocess request queued for this file, while it waits (status UPLOADED). */
  readonly reprocessId: string | null;
  /** The status whose `file.*` event was published; null until it has been. */
  readonly publishedStatus: FileStatus | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly processedAt: Date | null;
}

/**
 * Which status moves the pipeline may make. A status never goes backwards from an end state
 * because of a late or replayed event; only an explicit reprocess or a delete leaves one.
 */
export const canMoveTo = (from: FileStatus, to: FileStatus): boolean => {
  if (from === to) return true;
  if (from === 'DELETED') return false;
  switch (to) {
    case 'UPLOADED':
      return from === 'PENDING_UPLOAD';
    case 'PROCESSING':
      // FAILED: a redriven or reprocessed message gets another try. EXPIRED: an upload started
      // before its URL expired may finish after the sweeper gave up on it; its bytes still count.
      return (
        from === 'PENDING_UPLOAD' || from === 'UPLOADED' || from === 'FAILED' || from === 'EXPIRED'
      );
    case 'PROCESSED':
    case 'FAILED':
    case 'REJECTED':
      return from === 'PENDING_UPLOAD' || from === 'UPLOADED' || from === 'PROCESSING';
    case 'EXPIRED':
      return from === 'PENDING_UPLOAD';
    case 'DELETED':
      return true;
    default:
      return false;
  }
};

/**
 * Statuses from which `POST /files/{fileId}/reprocess` may queue a file again: its object is in
 * the bucket and no processor holds it. A file already queued (UPLOADED) or running
 * (PROCESSING) is refused, unless it is stuck (`stuckReason`), so one file never has two runs.
 */
export const REPROCESSABLE_STATUSES = ['PROCESSED', 'FAILED', 'REJECTED'] as const;
