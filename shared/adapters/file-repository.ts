import { and, asc, desc, eq, gte, inArray, like, lte, ne, type SQL, sql } from 'drizzle-orm';
import type { FileQuery, PageAfter } from '../domain/file-query.ts';
import {
  canMoveTo,
  type EndStatus,
  FILE_STATUSES,
  type FileRecord,
  type FileStatus,
  REPROCESSABLE_STATUSES,
} from '../domain/file-record.ts';
import type { Database } from './db/connect.ts';
import { type FileRow, files } from './db/schema.ts';

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

const toRecord = (row: FileRow): FileRecord => ({ ...row });

const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The one place that reads and writes file records, on any of the three drivers. Every write is
 * guarded by the status rules, so replays and late events change nothing.
 */
export class FileRepository {
  constructor(private readonly db: Database) {}

  /** Records a requested upload; the same fileId twice is a no-op. */
  async createPending(file: NewFile): Promise<FileRecord> {
    const now = new Date();
    const [row] = await this.db
      .insert(files)
      .values({
        fileId: file.fileId,
        ownerId: file.ownerId,
        filename: file.filename,
        declaredContentType: file.contentType,
        declaredSize: file.size,
        checksumSha256: file.checksumSha256,
        bucket: file.bucket,
        key: file.key,
        status: 'PENDING_UPLOAD',
        size: file.size,
        contentType: file.contentType,
        metadata: {},
        derivatives: [],
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: files.fileId })
      .returning();
    if (row) return toRecord(row);
    const existing = await this.get(file.fileId);
    if (!existing) throw new Error(`File ${file.fileId} vanished while being created`);
    return existing;
  }

  async get(fileId: string): Promise<FileRecord | undefined> {
    const [row] = await this.db.select().from(files).where(eq(files.fileId, fileId));
    return row ? toRecord(row) : undefined;
  }

  /** A file of this owner's; another owner's file is as absent as one that never existed. */
  async getForOwner(ownerId: string, fileId: string): Promise<FileRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(files)
      .where(and(eq(files.fileId, fileId), eq(files.ownerId, ownerId)));
    return row ? toRecord(row) : undefined;
  }

  /**
   * Moves a file to PROCESSING for this object version. Returns the updated record, or undefined
   * when its status does not allow it (already processed, deleted), and the caller reads why.
   */
  async startProcessing(fileId: string, objectVersion: string): Promise<FileRecord | undefined> {
    const [row] = await this.db
      .update(files)
      .set({ status: 'PROCESSING', objectVersion, reason: null, updatedAt: new Date() })
      .where(
        and(
          eq(files.fileId, fileId),
          inArray(files.status, [...movableFrom('PROCESSING'), 'PROCESSING']),
        ),
      )
      .returning();
    return row ? toRecord(row) : undefined;
  }

  /**
   * Writes the end state. Returns the updated record, or undefined when the file may not move
   * there (it was deleted, or this exact outcome was already written).
   */
  async finish(fileId: string, outcome: ProcessingOutcome): Promise<FileRecord | undefined> {
    const now = new Date();
    const [row] = await this.db
      .update(files)
      .set({
        status: outcome.status,
        objectVersion: outcome.objectVersion,
        size: outcome.size,
        contentType: outcome.contentType,
        sha256: outcome.sha256,
        metadata: outcome.metadata,
        derivatives: [...outcome.derivatives],
        reason: outcome.reason,
        updatedAt: now,
        processedAt: now,
      })
      .where(and(eq(files.fileId, fileId), inArray(files.status, movableFrom(outcome.status))))
      .returning();
    return row ? toRecord(row) : undefined;
  }

  /**
   * Puts a finished file back to UPLOADED for a reprocess, keeping its last results until the
   * processor replaces them. Returns undefined when its status does not allow it (the caller
   * reads why).
   */
  async queueReprocess(ownerId: string, fileId: string): Promise<FileRecord | undefined> {
    const [row] = await this.db
      .update(files)
      .set({ status: 'UPLOADED', updatedAt: new Date() })
      .where(
        and(
          eq(files.fileId, fileId),
          eq(files.ownerId, ownerId),
          inArray(files.status, [...REPROCESSABLE_STATUSES]),
        ),
      )
      .returning();
    return row ? toRecord(row) : undefined;
  }

  /** Marks a file DELETED; returns false when it already was (repeated deletes are harmless). */
  async markDeleted(ownerId: string, fileId: string): Promise<boolean> {
    const rows = await this.db
      .update(files)
      .set({ status: 'DELETED', derivatives: [], updatedAt: new Date() })
      .where(and(eq(files.fileId, fileId), eq(files.ownerId, ownerId), ne(files.status, 'DELETED')))
      .returning({ fileId: files.fileId });
    return rows.length > 0;
  }

  /** One page of an owner's files, by keyset: `limit + 1` rows tell whether there is more. */
  async list(query: FileQuery): Promise<Page> {
    const descending = query.sort.startsWith('-');
    const field = query.sort.replace('-', '') as 'createdAt' | 'size' | 'filename';
    const column = { createdAt: files.createdAt, size: files.size, filename: files.filename }[
      field
    ];
    const conditions: (SQL | undefined)[] = [eq(files.ownerId, query.ownerId)];
    if (query.status) conditions.push(eq(files.status, query.status));
    else conditions.push(ne(files.status, 'DELETED'));
    if (query.contentType?.endsWith('/*')) {
      conditions.push(like(files.contentType, `${escapeLike(query.contentType.slice(0, -1))}%`));
    } else if (query.contentType) {
      conditions.push(eq(files.contentType, query.contentType));
    }
    if (query.filenamePrefix) {
      conditions.push(
        sql`lower(${files.filename}) LIKE ${`${escapeLike(query.filenamePrefix.toLowerCase())}%`}`,
      );
    }
    if (query.createdFrom) conditions.push(gte(files.createdAt, query.createdFrom));
    if (query.createdTo) conditions.push(lte(files.createdAt, query.createdTo));
    if (query.after) {
      // A row comparison walks the (owner, field, file_id) index from where the last page ended.
      const cast = { createdAt: sql`::timestamptz`, size: sql`::bigint`, filename: sql`` }[field];
      conditions.push(
        sql`(${column}, ${files.fileId}) ${descending ? sql`<` : sql`>`} (${query.after.value}${cast}, ${query.after.fileId}::uuid)`,
      );
    }
    const order = descending ? desc : asc;
    const rows = await this.db
      .select()
      .from(files)
      .where(and(...conditions))
      .orderBy(order(column), order(files.fileId))
      .limit(query.limit + 1);
    const items = rows.slice(0, query.limit).map(toRecord);
    const last = items.at(-1);
    if (rows.length <= query.limit || !last) return { items };
    const value = field === 'createdAt' ? last.createdAt.toISOString() : last[field];
    return { items, after: { value, fileId: last.fileId } };
  }
}
