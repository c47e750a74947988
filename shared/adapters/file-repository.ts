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
import { parseUploadKey } from '../domain/keys.ts';
import { type FileKind, isFileKind } from '../domain/kinds.ts';
import { kindsWithClocks, type PipelineTiming, stuckThresholds } from '../domain/lifecycle.ts';
import { type LimitedAction, requestWindow } from '../domain/request-limits.ts';
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
  /** @default the kind its key names, else `other` */
  readonly kind?: FileKind;
  /** The dataset of a tabular file. @default null */
  readonly dataset?: string | null;
  /** Until when its upload URL may be used. */
  readonly uploadExpiresAt: Date;
}

/** Which run of which object version holds a file in PROCESSING (`startProcessing`). */
export interface RunClaim {
  /** The object version (`objectVersionOf`): the one whose bytes this run checks. */
  readonly objectVersion: string;
  /** Its S3 version id, when the bucket gave one. */
  readonly versionId: string | null;
  /** Which delivery of the message this is (ApproximateReceiveCount). */
  readonly attempts: number;
  /** When the function running it is stopped, at the latest. */
  readonly deadline: Date;
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
  bucket, object_key, kind, dataset, status, size, content_type, sha256, metadata, derivatives, reason,
  object_version, version_id, upload_expires_at, attempts, deadline, reprocess_id,
  published_status, created_at, updated_at, processed_at`;

/**
 * A list page leaves metadata out (a summary never shows it, and a table's schema and preview
 * are tens of KiB): 100 rows stay far below the Data API's 1 MiB answer.
 */
const LIST_COLUMNS = COLUMNS.replace('metadata,', "'{}'::jsonb AS metadata,");

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
const dateOrNull = (value: unknown): Date | null =>
  value === null || value === undefined ? null : date(value);
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
  kind: isFileKind(row.kind) ? row.kind : 'other',
  dataset: textOrNull(row.dataset),
  status: text(row.status) as FileStatus,
  size: number(row.size),
  contentType: text(row.content_type),
  sha256: textOrNull(row.sha256),
  metadata: jsonOf<FileMetadata>(row.metadata),
  derivatives: jsonOf<Derivative[]>(row.derivatives),
  reason: textOrNull(row.reason),
  objectVersion: textOrNull(row.object_version),
  versionId: textOrNull(row.version_id),
  uploadExpiresAt: dateOrNull(row.upload_expires_at),
  attempts: number(row.attempts ?? 0),
  deadline: dateOrNull(row.deadline),
  reprocessId: textOrNull(row.reprocess_id),
  publishedStatus: textOrNull(row.published_status) as FileStatus | null,
  createdAt: date(row.created_at),
  updatedAt: date(row.updated_at),
  processedAt: dateOrNull(row.processed_at),
});

/**
 * Longest `reason` kept: a sentence for a person, not a stack trace. A list page of 100 files
 * must stay far below the Data API's 1 MiB answer (and 64 KB a row) whatever an error said.
 */
export const MAX_REASON_LENGTH = 500;

const capReason = (reason: string | null): string | null =>
  reason !== null && reason.length > MAX_REASON_LENGTH
    ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…`
    : reason;

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

/** What `countRequest` found: this request's number in its window, and the owner's open uploads. */
export interface RequestCount {
  readonly count: number;
  readonly pendingUploads: number;
}

/** An owner's limits a batch of uploads is counted against (request-limits.ts). */
export interface BatchLimits {
  /** Upload requests per minute; each file of a batch is one. */
  readonly perMinute: number;
  /** Uploads the owner may have in PENDING_UPLOAD. */
  readonly pendingCap: number;
  readonly now: Date;
}

/**
 * What `createPendingBatch` did: every file recorded, or none, and then which limit refused
 * them (the owner's open uploads are counted either way, at most up to the cap).
 */
export type BatchCreation =
  | { readonly created: true; readonly count: number; readonly pendingUploads: number }
  | {
      readonly created: false;
      readonly refusedBy: 'perMinute' | 'pendingUploads';
      readonly pendingUploads: number;
    };

/** Which unfinished files a sweep at one instant ends, and how. */
export interface StuckFiles {
  /** PROCESSING or UPLOADED files that can no longer move by themselves. */
  readonly stuck: FileRecord[];
  /** PENDING_UPLOAD files whose upload URL expired, with the grace passed. */
  readonly expiredUploads: FileRecord[];
  /** DELETED files whose objects or `file.deleted` event may still be outstanding. */
  readonly unfinishedDeletions: FileRecord[];
  /**
   * Files ended long enough ago that no delivery of their message is left, whose outcome was
   * never recorded as published (every delivery failed between the end and its event).
   */
  readonly unpublished: FileRecord[];
}

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

  private async many(text: string, params: readonly SqlValue[]): Promise<FileRecord[]> {
    return (await this.db.query<Row>(text, params)).map(toRecord);
  }

  /** Records a requested upload; the same fileId twice is a no-op. */
  async createPending(file: NewFile): Promise<FileRecord> {
    const now = new Date();
    const created = await this.one(
      `INSERT INTO files (file_id, owner_id, filename, declared_content_type, declared_size,
         checksum_sha256, bucket, object_key, kind, dataset, status, size, content_type, metadata,
         derivatives, upload_expires_at, created_at, updated_at)
       VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $11, $12, 'PENDING_UPLOAD', $5, $4,
         '{}'::jsonb, '[]'::jsonb, $10::timestamptz, $9::timestamptz, $9::timestamptz)
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
        file.uploadExpiresAt,
        file.kind ?? parseUploadKey(file.key)?.kind ?? 'other',
        file.dataset ?? null,
      ],
    );
    if (created) return created;
    const existing = await this.get(file.fileId);
    if (!existing) throw new Error(`File ${file.fileId} vanished while being created`);
    return existing;
  }

  /**
   * Counts one request of an owner's in the current minute (request-limits.ts) and, in the same
   * statement, how many uploads the owner has open (at most `pendingCap`, which bounds the work).
   * Old windows are pruned by the sweeper.
   */
  async countRequest(
    ownerId: string,
    action: LimitedAction,
    now: Date,
    pendingCap: number,
  ): Promise<RequestCount> {
    const [row] = await this.db.query<{ count: unknown; pending: unknown }>(
      `WITH counted AS (
         INSERT INTO request_counts (owner_id, action, window_start, count)
         VALUES ($1, $2, $3::timestamptz, 1)
         ON CONFLICT (owner_id, action, window_start)
           DO UPDATE SET count = request_counts.count + 1
         RETURNING count
       )
       SELECT counted.count,
         (SELECT count(*) FROM (SELECT 1 FROM files WHERE owner_id = $1
            AND status = 'PENDING_UPLOAD' LIMIT $4) open_uploads) AS pending
       FROM counted`,
      [ownerId, action, requestWindow(now), pendingCap],
    );
    if (!row) throw new Error('Counting a request returned no row');
    return { count: number(row.count), pendingUploads: number(row.pending) };
  }

  /**
   * Records a batch of requested uploads of one owner in one statement (one round trip on every
   * driver, atomic without a transaction): counts them against the owner's limits as that many
   * single requests, and records all of them or, when any limit would be passed, none, and then
   * counts nothing (a refused batch does not use up the minute). The rows travel as one JSON
   * parameter, so a batch of any size is one parameter for the Data API too. A fileId already
   * recorded is left as it is.
   */
  async createPendingBatch(
    ownerId: string,
    files: readonly NewFile[],
    limits: BatchLimits,
  ): Promise<BatchCreation> {
    if (files.length === 0) {
      return { created: true, count: 0, pendingUploads: 0 };
    }
    const now = limits.now;
    const rows = files.map((file) => {
      if (file.ownerId !== ownerId) throw new Error('A batch holds the files of one owner');
      return {
        file_id: file.fileId,
        filename: file.filename,
        content_type: file.contentType,
        size: file.size,
        checksum_sha256: file.checksumSha256,
        bucket: file.bucket,
        object_key: file.key,
        kind: file.kind ?? parseUploadKey(file.key)?.kind ?? 'other',
        dataset: file.dataset ?? null,
        upload_expires_at: file.uploadExpiresAt.toISOString(),
      };
    });
    const [row] = await this.db.query<{ count: unknown; pending: unknown; inserted: unknown }>(
      `WITH pending AS (
         SELECT count(*) AS n FROM (SELECT 1 FROM files WHERE owner_id = $1
           AND status = 'PENDING_UPLOAD' LIMIT $5::int) open_uploads
       ),
       counted AS (
         INSERT INTO request_counts (owner_id, action, window_start, count)
         SELECT $1, 'upload', $2::timestamptz, $3::int
         WHERE $3::int <= $4::int AND (SELECT n FROM pending) + $3::int <= $5::int
         ON CONFLICT (owner_id, action, window_start)
           DO UPDATE SET count = request_counts.count + excluded.count
           WHERE request_counts.count + excluded.count <= $4::int
         RETURNING count
       ),
       inserted AS (
         INSERT INTO files (file_id, owner_id, filename, declared_content_type, declared_size,
           checksum_sha256, bucket, object_key, kind, dataset, status, size, content_type,
           metadata, derivatives, upload_expires_at, created_at, updated_at)
         SELECT v.file_id, $1, v.filename, v.content_type, v.size, v.checksum_sha256, v.bucket,
           v.object_key, v.kind, v.dataset, 'PENDING_UPLOAD', v.size, v.content_type,
           '{}'::jsonb, '[]'::jsonb, v.upload_expires_at, $6::timestamptz, $6::timestamptz
         FROM jsonb_to_recordset($7::jsonb) AS v(file_id uuid, filename text, content_type text,
           size bigint, checksum_sha256 text, bucket text, object_key text, kind text,
           dataset text, upload_expires_at timestamptz)
         WHERE EXISTS (SELECT 1 FROM counted)
         ON CONFLICT (file_id) DO NOTHING
         RETURNING file_id
       )
       SELECT (SELECT count FROM counted) AS count, (SELECT n FROM pending) AS pending,
         (SELECT count(*) FROM inserted) AS inserted`,
      [
        ownerId,
        requestWindow(now),
        files.length,
        limits.perMinute,
        limits.pendingCap,
        now,
        json(rows),
      ],
    );
    if (!row) throw new Error('Recording a batch of uploads returned no row');
    const pendingUploads = number(row.pending);
    if (row.count === null || row.count === undefined) {
      return {
        created: false,
        refusedBy:
          pendingUploads + files.length > limits.pendingCap ? 'pendingUploads' : 'perMinute',
        pendingUploads,
      };
    }
    return { created: true, count: number(row.count), pendingUploads };
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
   * Moves a file to PROCESSING for one object version. The first version a run claims is the
   * file's from then on: a file that already names another version (a form sent again, a
   * version that arrived while another was checked) is not taken. A run of the same version
   * may take it again (a redelivery after a crash, a redrive, a reprocess). Returns the updated
   * record, or undefined when it may not move, and the caller reads why.
   */
  startProcessing(fileId: string, claim: RunClaim): Promise<FileRecord | undefined> {
    return this.one(
      `UPDATE files SET status = 'PROCESSING', object_version = $2, version_id = $3,
         attempts = $4, deadline = $5::timestamptz, reason = NULL, updated_at = $6::timestamptz
       WHERE file_id = $1::uuid AND (status IN ('PENDING_UPLOAD', 'EXPIRED')
         OR (status IN ('UPLOADED', 'FAILED', 'PROCESSING')
           AND (object_version IS NULL OR object_version = $2)))
       RETURNING ${COLUMNS}`,
      [fileId, claim.objectVersion, claim.versionId, claim.attempts, claim.deadline, new Date()],
    );
  }

  /**
   * Records that a delivery of a file's message came while another run still held the file
   * (its idempotency record in progress): if that run died, this count tells the sweeper the
   * message had its last delivery, so the file is ended once the run's deadline has passed.
   * Returns the record (its `deadline` says when the holder stops at the latest), or undefined
   * when the file is not being processed.
   */
  noteAttempt(fileId: string, attempts: number): Promise<FileRecord | undefined> {
    return this.one(
      `UPDATE files SET attempts = greatest(attempts, $2)
       WHERE file_id = $1::uuid AND status = 'PROCESSING'
       RETURNING ${COLUMNS}`,
      [fileId, attempts],
    );
  }

  /**
   * Writes the end state for the version the file holds. Returns the updated record, or
   * undefined when the file may not move there (it was deleted, another version holds it, or
   * this exact outcome was already written). The outcome's event is not yet published, unless
   * the run was a plain re-run (a late copy of its event, a redrive; no reprocess, whether
   * queued on the record or named by the run's message) that ended as the file had ended before
   * and been told: the owner heard that outcome once already.
   */
  finish(
    fileId: string,
    outcome: ProcessingOutcome,
    run: { readonly reprocess?: boolean } = {},
  ): Promise<FileRecord | undefined> {
    const from = movableFrom(outcome.status);
    const reprocess = `$${11 + from.length}`;
    return this.one(
      `UPDATE files SET status = $2, object_version = $3, size = $4, content_type = $5,
         sha256 = $6, metadata = $7::jsonb, derivatives = $8::jsonb, reason = $9,
         reprocess_id = NULL,
         published_status = CASE WHEN published_status = $2 AND reprocess_id IS NULL
           AND NOT ${reprocess}::boolean THEN published_status END,
         updated_at = $10::timestamptz, processed_at = $10::timestamptz
       WHERE file_id = $1::uuid AND status IN (${placeholders(from.length, 11)})
         AND (object_version IS NULL OR object_version = $3)
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
        capReason(outcome.reason),
        new Date(),
        ...from,
        run.reprocess === true,
      ],
    );
  }

  /**
   * Records that the event of the file's current status went out, so a retry does not publish
   * it again. Returns false when it was already recorded or the status moved on.
   */
  async markPublished(fileId: string, status: FileStatus): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE files SET published_status = $2
       WHERE file_id = $1::uuid AND status = $2 AND published_status IS NULL
       RETURNING file_id`,
      [fileId, status],
    );
    return rows.length > 0;
  }

  /**
   * Queues a finished file for a reprocess (back to UPLOADED, keeping its last results until
   * the processor replaces them), or a stuck one as `stuck` allows (lifecycle.ts). A file
   * already queued or running is not queued twice: undefined is returned, and the caller reads
   * why (a queued reprocess's id is on the record).
   */
  queueReprocess(
    ownerId: string,
    fileId: string,
    reprocessId: string,
    stuck: { timing: PipelineTiming; now: Date; kind?: FileKind },
  ): Promise<FileRecord | undefined> {
    const from = [...REPROCESSABLE_STATUSES];
    // The file's own kind's clock, as the sweeper judges it.
    const limits = stuckThresholds(stuck.timing, stuck.now, stuck.kind);
    return this.one(
      `UPDATE files SET status = 'UPLOADED', reprocess_id = $3::uuid, updated_at = $4::timestamptz
       WHERE file_id = $1::uuid AND owner_id = $2 AND (status IN (${placeholders(from.length, 9)})
         OR (status = 'PROCESSING' AND coalesce(deadline, updated_at) < $5::timestamptz
           AND attempts >= $8)
         OR (status = 'PROCESSING' AND coalesce(deadline, updated_at) < $6::timestamptz)
         OR (status = 'UPLOADED' AND updated_at < $7::timestamptz))
       RETURNING ${COLUMNS}`,
      [
        fileId,
        ownerId,
        reprocessId,
        stuck.now,
        limits.lastAttemptDeadline,
        limits.abandonedDeadline,
        limits.queuedSince,
        stuck.timing.maxReceiveCount,
        ...from,
      ],
    );
  }

  /**
   * Takes back a reprocess request whose message could not be sent: the file returns to the
   * status it had, unless it moved meanwhile.
   */
  async abandonReprocess(fileId: string, reprocessId: string, previous: FileStatus): Promise<void> {
    await this.db.query(
      `UPDATE files SET status = $3, reprocess_id = NULL
       WHERE file_id = $1::uuid AND status = 'UPLOADED' AND reprocess_id = $2::uuid`,
      [fileId, reprocessId, previous],
    );
  }

  /**
   * Marks a file DELETED, keeping what its `file.deleted` event needs until `finishDeletion`.
   * Returns false when it already was (repeated deletes are harmless).
   */
  async markDeleted(ownerId: string, fileId: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE files SET status = 'DELETED', published_status = NULL, reprocess_id = NULL,
         video_execution = NULL, updated_at = $3::timestamptz
       WHERE file_id = $1::uuid AND owner_id = $2 AND status <> 'DELETED'
       RETURNING file_id`,
      [fileId, ownerId, new Date()],
    );
    return rows.length > 0;
  }

  /**
   * Ends a deletion once the objects are gone and `file.deleted` is out: the row keeps only what
   * operations need (ids, status, timestamps), nothing the user uploaded or we learnt from it.
   * Returns false when another call finished it first.
   */
  async finishDeletion(fileId: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE files SET published_status = 'DELETED', filename = '', declared_content_type = '',
         content_type = '', declared_size = 0, size = 0, checksum_sha256 = NULL, sha256 = NULL,
         metadata = '{}'::jsonb, derivatives = '[]'::jsonb, reason = NULL, dataset = NULL
       WHERE file_id = $1::uuid AND status = 'DELETED' AND published_status IS NULL
       RETURNING file_id`,
      [fileId],
    );
    return rows.length > 0;
  }

  /**
   * Ends a stuck or expired file as the sweeper found it: only if it has not moved since
   * (`updatedAt` unchanged), so a run that wakes up meanwhile wins. Returns the new record; a
   * FAILED end of a plain re-run of a file whose FAILED was told stays told (`publishedStatus`).
   */
  endUnfinished(
    file: Pick<FileRecord, 'fileId' | 'status' | 'updatedAt'>,
    to: 'FAILED' | 'EXPIRED' | 'UPLOADED',
    reason: string | null,
    now: Date,
  ): Promise<FileRecord | undefined> {
    return this.one(
      `UPDATE files SET status = $2, reason = $3, reprocess_id = NULL,
         published_status = CASE WHEN $2 = 'FAILED' AND published_status = 'FAILED'
           AND reprocess_id IS NULL THEN published_status END,
         updated_at = $5::timestamptz,
         processed_at = CASE WHEN $2 = 'FAILED' THEN $5::timestamptz ELSE processed_at END
       WHERE file_id = $1::uuid AND status = $4 AND updated_at = $6::timestamptz
       RETURNING ${COLUMNS}`,
      [file.fileId, to, capReason(reason), file.status, now, file.updatedAt],
    );
  }

  /**
   * The files a sweep at `now` must look at (lifecycle.ts), a bounded number of each kind so
   * that one run always ends in time; the next run takes the rest.
   */
  async unfinished(timing: PipelineTiming, now: Date, limit: number): Promise<StuckFiles> {
    const limits = stuckThresholds(timing, now);
    // A run abandoned: judged by its own kind's clock (a kind's timeout sets its visibility).
    const kinds = kindsWithClocks(timing);
    const params: SqlValue[] = [
      limits.lastAttemptDeadline,
      limits.abandonedDeadline,
      limits.queuedSince,
      timing.maxReceiveCount,
      limit,
    ];
    const perKind = kinds.map((kind) => {
      params.push(kind, stuckThresholds(timing, now, kind).abandonedDeadline);
      return `(status = 'PROCESSING' AND kind = $${params.length - 1}
               AND coalesce(deadline, updated_at) < $${params.length}::timestamptz)`;
    });
    // Kinds without a clock of their own (none, once a stage lists every kind) use the stage's.
    const kindParams = kinds.map((_, i) => `$${6 + 2 * i}`).join(', ');
    const otherKinds = kinds.length === 0 ? '' : `AND kind NOT IN (${kindParams})`;
    const [stuck, expiredUploads, unfinishedDeletions, unpublished] = await Promise.all([
      this.many(
        `SELECT ${COLUMNS} FROM files
         WHERE (status = 'PROCESSING' AND coalesce(deadline, updated_at) < $1::timestamptz
             AND attempts >= $4)
           OR (status = 'PROCESSING' AND coalesce(deadline, updated_at) < $2::timestamptz
             ${otherKinds})
           ${perKind.map((clause) => `OR ${clause}`).join('\n           ')}
           OR (status = 'UPLOADED' AND updated_at < $3::timestamptz)
         ORDER BY updated_at LIMIT $5`,
        params,
      ),
      this.expiredUploads(timing, now, limit),
      // A deletion in progress is left alone for a minute: its own request is finishing it.
      this.many(
        `SELECT ${COLUMNS} FROM files
         WHERE status = 'DELETED' AND published_status IS NULL AND updated_at < $1::timestamptz
         ORDER BY updated_at LIMIT $2`,
        [new Date(now.getTime() - 60_000), limit],
      ),
      this.many(
        `SELECT ${COLUMNS} FROM files
         WHERE status IN ('PROCESSED', 'FAILED', 'REJECTED') AND published_status IS NULL
           AND updated_at < $1::timestamptz
         ORDER BY updated_at LIMIT $2`,
        [limits.abandonedDeadline, limit],
      ),
    ]);
    return { stuck, expiredUploads, unfinishedDeletions, unpublished };
  }

  /**
   * One page of the PENDING_UPLOAD files whose URL expired (the grace passed) at `now`, by
   * keyset: `after` is the last file of the page before, so a file a sweep could not end (an
   * error, a run that moved it meanwhile) is not read again by the same sweep.
   */
  expiredUploads(
    timing: PipelineTiming,
    now: Date,
    limit: number,
    after?: Pick<FileRecord, 'updatedAt' | 'fileId'>,
  ): Promise<FileRecord[]> {
    const { uploadExpiredBefore } = stuckThresholds(timing, now);
    return this.many(
      `SELECT ${COLUMNS} FROM files
       WHERE status = 'PENDING_UPLOAD' AND upload_expires_at < $1::timestamptz
         ${after ? 'AND (updated_at, file_id) > ($3::timestamptz, $4::uuid)' : ''}
       ORDER BY updated_at, file_id LIMIT $2`,
      after
        ? [uploadExpiredBefore, limit, after.updatedAt, after.fileId]
        : [uploadExpiredBefore, limit],
    );
  }

  /** Forgets request counts of windows that ended before `before`; returns how many went. */
  async pruneRequestCounts(before: Date): Promise<number> {
    const rows = await this.db.query(
      'DELETE FROM request_counts WHERE window_start < $1::timestamptz RETURNING owner_id',
      [before],
    );
    return rows.length;
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
      `SELECT ${LIST_COLUMNS} FROM files WHERE ${conditions.join(' AND ')}
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
      `UPDATE files SET status = 'REJECTED', reason = $3, published_status = NULL,
         updated_at = $4::timestamptz, processed_at = $4::timestamptz
       WHERE file_id = $1::uuid AND owner_id = $2 AND status = 'PENDING_UPLOAD'
       RETURNING ${COLUMNS}`,
      [fileId, ownerId, capReason(reason), new Date()],
    );
  }

  /**
   * Records how far a video's run is (issue 15): only while the file is PROCESSING the version
   * named, and only forward, so late or repeated reports change nothing. Returns the record when
   * the percentage moved (the caller tells the owner), undefined otherwise. `updated_at` moves
   * too: a run that reports progress is not stuck.
   */
  recordProgress(
    fileId: string,
    objectVersion: string,
    percent: number,
  ): Promise<FileRecord | undefined> {
    const value = Math.max(0, Math.min(100, Math.floor(percent)));
    return this.one(
      `UPDATE files SET progress = $3, updated_at = $4::timestamptz
       WHERE file_id = $1::uuid AND status = 'PROCESSING' AND object_version = $2
         AND (progress IS NULL OR progress < $3)
       RETURNING ${COLUMNS}`,
      [fileId, objectVersion, value, new Date()],
    );
  }

  /** The percentage a run last reported, or null (none, or the file is not PROCESSING). */
  async progressOf(fileId: string): Promise<number | null> {
    const [row] = await this.db.query<{ progress: unknown }>(
      `SELECT CASE WHEN status = 'PROCESSING' THEN progress END AS progress
       FROM files WHERE file_id = $1::uuid`,
      [fileId],
    );
    return row?.progress === null || row?.progress === undefined ? null : Number(row.progress);
  }

  /** Forgets a finished run's progress, so the next run of the file starts from nothing. */
  async clearProgress(fileId: string): Promise<void> {
    await this.db.query(
      `UPDATE files SET progress = NULL
       WHERE file_id = $1::uuid AND status <> 'PROCESSING' AND progress IS NOT NULL`,
      [fileId],
    );
  }

  /**
   * Records which workflow execution took over the run of the version named (the video kind's
   * hand-off), so `GET /files/{fileId}/workflow` can find it whatever named it. Only while that
   * version is the file's and the file is not deleted; a run that already ended keeps its
   * execution too (the workflow may finish before this is written).
   */
  async noteVideoExecution(
    fileId: string,
    objectVersion: string,
    executionArn: string,
  ): Promise<void> {
    await this.db.query(
      `UPDATE files SET video_execution = $3
       WHERE file_id = $1::uuid AND object_version = $2 AND status <> 'DELETED'`,
      [fileId, objectVersion, executionArn],
    );
  }

  /** The ARN of the execution that took the file's current (or last) run, or null. */
  async videoExecutionOf(fileId: string): Promise<string | null> {
    const [row] = await this.db.query<{ video_execution: unknown }>(
      `SELECT video_execution FROM files WHERE file_id = $1::uuid AND status <> 'DELETED'`,
      [fileId],
    );
    return textOrNull(row?.video_execution);
  }
}
