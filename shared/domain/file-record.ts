/** Every state a file can be in; see DESIGN.md "File status". */
export const FILE_STATUSES = [
  'PENDING_UPLOAD',
  'UPLOADED',
  'PROCESSING',
  'PROCESSED',
  'FAILED',
  'REJECTED',
  'DELETED',
] as const;

export type FileStatus = (typeof FILE_STATUSES)[number];

/** States the processor ends in; each one is published on the custom bus. */
export const END_STATUSES = ['PROCESSED', 'FAILED', 'REJECTED'] as const;
export type EndStatus = (typeof END_STATUSES)[number];

export const isFileStatus = (value: string): value is FileStatus =>
  (FILE_STATUSES as readonly string[]).includes(value);

/** A derived object (thumbnail, preview) written under `derived/`. */
export interface Derivative {
  readonly name: string;
  readonly key: string;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  readonly size: number;
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
  readonly status: FileStatus;
  /** As declared until processed, then the size of the bytes. */
  readonly size: number;
  /** As declared until processed, then the type the bytes show. */
  readonly contentType: string;
  readonly sha256: string | null;
  readonly metadata: FileMetadata;
  readonly derivatives: readonly Derivative[];
  readonly reason: string | null;
  readonly objectVersion: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly processedAt: Date | null;
}

/**
 * Which status moves the processor may make. A status never goes backwards from an end state
 * because of a late or replayed event; only an explicit reprocess or a delete leaves one.
 */
export const canMoveTo = (from: FileStatus, to: FileStatus): boolean => {
  if (from === to) return true;
  if (from === 'DELETED') return false;
  switch (to) {
    case 'UPLOADED':
      return from === 'PENDING_UPLOAD';
    case 'PROCESSING':
      // FAILED too: a redriven or reprocessed message gets another try.
      return from === 'PENDING_UPLOAD' || from === 'UPLOADED' || from === 'FAILED';
    case 'PROCESSED':
    case 'FAILED':
    case 'REJECTED':
      return from === 'PENDING_UPLOAD' || from === 'UPLOADED' || from === 'PROCESSING';
    case 'DELETED':
      return true;
    default:
      return false;
  }
};

/**
 * Statuses from which `POST /files/{fileId}/reprocess` may queue a file again: its object is in
 * the bucket and no processor holds it. UPLOADED is a reprocess already queued; asking again
 * queues another (harmless: the second finds the work done). PROCESSING is refused (409).
 */
export const REPROCESSABLE_STATUSES = ['UPLOADED', 'PROCESSED', 'FAILED', 'REJECTED'] as const;
