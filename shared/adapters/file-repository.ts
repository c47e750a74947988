import type { FileQuery, PageAfter } from '../domain/file-query.ts';
import {
  canMoveTo,
  type Derivative,
  type EndStatus,
  FILE_STATUSES,
  type FileMetadata,
  type FileRecord,
  type FileStatus,
  REPROCESSABLE_STATUSES,
} from '../domain/file-record.ts';
import { type Database, json, type SqlValue } from './db/connect.ts';

/** A new upload, as `POST /uploads` records it. */
export interface NewFile {
  readonly fileId: string;
  readonly ownerId: string;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly checksumSha256: string | null;
  readonly bucket: string;
  readonly key: string;
}

/**
 * What the processor found, written when a file reaches its end state: the record's own fields
 * (`sha256` is null only when the object could not be read at all).
 */
export interface ProcessingOutcome
  extends Pick<
    FileRecord,
    'size' | 'contentType' | 'sha256' | 'metadata' | 'derivatives' | 'reason'
  > {
  readonly status: EndStatus;
  readonly objectVersion: string;
}

export interface Page {
  readonly items: FileRecord[];
  /** Where the next page starts, or undefined on the last page. */
  readonly after?: PageAfter;
}

/** Statuses a file may move to `to` from: derived from the domain rule, never listed twice. */
const movableFrom = (to: FileStatus): FileStatus[] =>
  FILE_STATUSES.filter((from) => from !== to && canMoveTo(from, to));

const COLUMNS = `file_id, owner_id, filename, declared_content_type, declared_size, checksum_sha256,
  bucket, object_key, status, size, content_type, sha256, metadata, derivatives, reason,
  object_version, created_at, updated_at, processed_at`;

/**
 * A row as any driver returns it: node-postgres gives int8 as text, the Data API gives
 * timestamps as UTC text without a zone and jsonb as text; PGlite gives numbers and objects.
 */
type Row = Record<string, unknown>;

const text = (value: unknown): string => String(value);
const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);
const number = (value: unknown): number => Number(value);
const date = (value: unknown): Date => {
  if (value instanceof Date) return value;
  const raw = String(value);
  // "2026-11-29 10:00:00.123" (Data API, UTC) or an ISO string with its zone.
  return new Date(/[zZ]|[+-]\d\d(:?\d\d)?$/.test(raw) ? raw : `${raw.replace(' ', 'T')}Z`);
};
const jsonOf = <T>(value: unknown): T =>
  (typeof value === 'string' ? JSON.parse(value) : value) as T;

const toRecord = (row: Row): FileRecord => ({
  fileId: text(row.file_id),
  ownerId: text(row.owner_id),
  filename: text(row.filename),
  declaredContentType: text(row.declared_content_type),
  declaredSize: number(row.declared_size),
  checksumSha256: textOrNull(row.checksum_sha256),
  bucket: text(row.bucket),
  key: text(row.object_key),
  status: text(row.status) as FileStatus,
  size: number(row.size),
  contentType: text(row.content_type),
  sha256: textOrNull(row.sha256),
  metadata: jsonOf<FileMetadata>(row.metadata),
  derivatives: jsonOf<Derivative[]>(row.derivatives),
  reason: textOrNull(row.reason),
  objectVersion: textOrNull(row.object_version),
  createdAt: date(row.created_at),
  updatedAt: date(row.updated_at),
  processedAt:
    row.processed_at === null || row.processed_at === undefined ? null : date(row.processed_at),
});

const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `$n` placeholders for a list of statuses, from `start`. */
const placeholders = (count: number, start: number): string =>
  Array.from({ length: count }, (_, i) => `$${start + i}`).join(', ');

/** The sort columns GET /files offers, with the cast a cursor value needs. */
const SORT_COLUMNS = {
  createdAt: { column: 'created_at', cast: '::timestamptz' },
  size: { column: 'size', cast: '::bigint' },
  filename: { column: 'filename', cast: '' },
} as const;

/**
 * The one place that reads and writes file records, on any of the three drivers. Every write is
 * guarded by the status rules, so replays and late events change nothing.
 */
export class FileRepository {
  constructor(private readonly db: Database) {}

  private async one(text: string, params: readonly SqlValue[]): Promise<FileRecord | undefined> {
    const [row] = await this.db.query<Row>(text, params);
    return row ? toRecord(row) : undefined;
  }

  /** Records a requested upload; the same fileId twice is a no-op. */
  async createPending(file: NewFile): Promise<FileRecord> {
    const now = new Date();
    const created = await this.one(
      `INSERT INTO files (file_id, owner_id, filename, declared_content_type, declared_size,
         checksum_sha256, bucket, object_key, status, size, content_type, metadata, derivatives,
         created_at, updated_at)
       VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, 'PENDING_UPLOAD', $5, $4, '{}'::jsonb,
         '[]'::jsonb, $9::timestamptz, $9::timestamptz)
       ON CONFLICT (file_id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        file.fileId,
        file.ownerId,
        file.filename,
        file.contentType,
        file.size,
        file.checksumSha256,
        file.bucket,
        file.key,
        now,
      ],
    );
    if (created) return created;
    const existing = await this.get(file.fileId);
    if (!existing) throw new Error(`File ${file.fileId} vanished while being created`);
    return existing;
  }

  get(fileId: string): Promise<FileRecord | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM files WHERE file_id = $1::uuid`, [fileId]);
  }

  /** A file of this owner's; another owner's file is as absent as one that never existed. */
  getForOwner(ownerId: string, fileId: string): Promise<FileRecord | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM files WHERE file_id = $1::uuid AND owner_id = $2`, [
      fileId,
      ownerId,
    ]);
  }

  /**
   * Marks files whose objects have arrived as UPLOADED: the processor does it for the files of a
   * batch that wait behind its first record, so a file waiting its turn says its upload is done.
   * Only PENDING_UPLOAD files of the owner named in the key move; a late or replayed event
   * changes nothing. Returns how many moved.
   */
  async markUploaded(objects: readonly { fileId: string; ownerId: string }[]): Promise<number> {
    if (objects.length === 0) return 0;
    const matches = objects
      .map((_, i) => `(file_id = $${2 * i + 2}::uuid AND owner_id = $${2 * i + 3})`)
      .join(' OR ');
    const rows = await this.db.query(
      `UPDATE files SET status = 'UPLOADED', updated_at = $1::timestamptz
       WHERE status = 'PENDING_UPLOAD' AND (${matches})
       RETURNING file_id`,
      [new Date(), ...objects.flatMap((o) => [o.fileId, o.ownerId])],
    );
    return rows.length;
  }

  /**
   * Moves a file to PROCESSING for this object version. Returns the updated record, or undefined
   * when its status does not allow it (already processed, deleted), and the caller reads why.
   */
  startProcessing(fileId: string, objectVersion: string): Promise<FileRecord | undefined> {
    const from = [...movableFrom('PROCESSING'), 'PROCESSING'];
    return this.one(
      `UPDATE files SET status = 'PROCESSING', object_version = $2, reason = NULL,
         updated_at = $3::timestamptz
       WHERE file_id = $1::uuid AND status IN (${placeholders(from.length, 4)})
       RETURNING ${COLUMNS}`,
      [fileId, objectVersion, new Date(), ...from],
    );
  }

  /**
   * Writes the end state. Returns the updated record, or undefined when the file may not move
   * there (it was deleted, or this exact outcome was already written).
   */
  finish(fileId: string, outcome: ProcessingOutcome): Promise<FileRecord | undefined> {
    const from = movableFrom(outcome.status);
    return this.one(
      `UPDATE files SET status = $2, object_version = $3, size = $4, content_type = $5,
         sha256 = $6, metadata = $7::jsonb, derivatives = $8::jsonb, reason = $9,
         updated_at = $10::timestamptz, processed_at = $10::timestamptz
       WHERE file_id = $1::uuid AND status IN (${placeholders(from.length, 11)})
       RETURNING ${COLUMNS}`,
      [
        fileId,
        outcome.status,
        outcome.objectVersion,
        outcome.size,
        outcome.contentType,
        outcome.sha256,
        json(outcome.metadata),
        json(outcome.derivatives),
        outcome.reason,
        new Date(),
        ...from,
      ],
    );
  }

  /**
   * Puts a finished file back to UPLOADED for a reprocess, keeping its last results until the
   * processor replaces them. Returns undefined when its status does not allow it (the caller
   * reads why).
   */
  queueReprocess(ownerId: string, fileId: string): Promise<FileRecord | undefined> {
    const from = [...REPROCESSABLE_STATUSES];
    return this.one(
      `UPDATE files SET status = 'UPLOADED', updated_at = $3::timestamptz
       WHERE file_id = $1::uuid AND owner_id = $2 AND status IN (${placeholders(from.length, 4)})
       RETURNING ${COLUMNS}`,
      [fileId, ownerId, new Date(), ...from],
    );
  }

  /** Marks a file DELETED; returns false when it already was (repeated deletes are harmless). */
  async markDeleted(ownerId: string, fileId: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE files SET status = 'DELETED', derivatives = '[]'::jsonb, updated_at = $3::timestamptz
       WHERE file_id = $1::uuid AND owner_id = $2 AND status <> 'DELETED'
       RETURNING file_id`,
      [fileId, ownerId, new Date()],
    );
    return rows.length > 0;
  }

  /** A setting the migrations made (`settings` table), or undefined. */
  async setting(name: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ value: string }>(
      'SELECT value FROM settings WHERE name = $1',
      [name],
    );
    return row?.value;
  }

  /** One page of an owner's files, by keyset: `limit + 1` rows tell whether there is more. */
  async list(query: FileQuery): Promise<Page> {
    const descending = query.sort.startsWith('-');
    const field = query.sort.replace('-', '') as keyof typeof SORT_COLUMNS;
    const { column, cast } = SORT_COLUMNS[field];
    const params: SqlValue[] = [query.ownerId];
    const next = (value: SqlValue): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const conditions = ['owner_id = $1'];
    if (query.status) conditions.push(`status = ${next(query.status)}`);
    else conditions.push("status <> 'DELETED'");
    if (query.contentType?.endsWith('/*')) {
      conditions.push(
        `content_type LIKE ${next(`${escapeLike(query.contentType.slice(0, -1))}%`)}`,
      );
    } else if (query.contentType) {
      conditions.push(`content_type = ${next(query.contentType)}`);
    }
    if (query.filenamePrefix) {
      conditions.push(
        `lower(filename) LIKE ${next(`${escapeLike(query.filenamePrefix.toLowerCase())}%`)}`,
      );
    }
    if (query.createdFrom) conditions.push(`created_at >= ${next(query.createdFrom)}::timestamptz`);
    if (query.createdTo) conditions.push(`created_at <= ${next(query.createdTo)}::timestamptz`);
    if (query.after) {
      // A row comparison walks the (owner, field, file_id) index from where the last page ended.
      conditions.push(
        `(${column}, file_id) ${descending ? '<' : '>'} (${next(query.after.value)}${cast}, ${next(query.after.fileId)}::uuid)`,
      );
    }
    const order = descending ? 'DESC' : 'ASC';
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM files WHERE ${conditions.join(' AND ')}
       ORDER BY ${column} ${order}, file_id ${order} LIMIT ${next(query.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, query.limit).map(toRecord);
    const last = items.at(-1);
    if (rows.length <= query.limit || !last) return { items };
    const value = field === 'createdAt' ? last.createdAt.toISOString() : last[field];
    return { items, after: { value, fileId: last.fileId } };
  }

  /**
   * Ends a file whose upload was refused before any object version was made (a multipart upload
   * whose bytes do not match the client's checksum): REJECTED with the reason, only while it is
   * still PENDING_UPLOAD. Returns undefined when it was no longer waiting for its upload.
   */
  rejectUpload(ownerId: string, fileId: string, reason: string): Promise<FileRecord | undefined> {
    return this.one(
      `UPDATE files SET status = 'REJECTED', reason = $3, updated_at = $4::timestamptz,
         processed_at = $4::timestamptz
       WHERE file_id = $1::uuid AND owner_id = $2 AND status = 'PENDING_UPLOAD'
       RETURNING ${COLUMNS}`,
      [fileId, ownerId, reason, new Date()],
    );
  }
}
