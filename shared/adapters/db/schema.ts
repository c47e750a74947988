import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { Derivative, FileMetadata, FileStatus } from '../../domain/file-record.ts';

const millis = (name: string) =>
  timestamp(name, { precision: 3, withTimezone: true, mode: 'date' });

/**
 * The files table. Its DDL lives in migrations/ (applied through the Data API in AWS); this is
 * the query builder's view of it and must match. Timestamps keep milliseconds so that a value
 * read into a JS Date and sent back in a cursor compares equal.
 * `size` and `content_type` start as declared and become what the bytes show once processed,
 * so every sort and filter has a value to work on at every stage.
 */
export const files = pgTable(
  'files',
  {
    fileId: uuid('file_id').primaryKey(),
    ownerId: text('owner_id').notNull(),
    filename: text('filename').notNull(),
    declaredContentType: text('declared_content_type').notNull(),
    declaredSize: bigint('declared_size', { mode: 'number' }).notNull(),
    checksumSha256: text('checksum_sha256'),
    bucket: text('bucket').notNull(),
    key: text('object_key').notNull(),
    status: text('status').$type<FileStatus>().notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    contentType: text('content_type').notNull(),
    sha256: text('sha256'),
    metadata: jsonb('metadata').$type<FileMetadata>().notNull(),
    derivatives: jsonb('derivatives').$type<Derivative[]>().notNull(),
    reason: text('reason'),
    objectVersion: text('object_version'),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
    processedAt: millis('processed_at'),
  },
  (t) => [index('files_owner_created').on(t.ownerId, t.createdAt, t.fileId)],
);

export const schemaMigrations = pgTable('schema_migrations', {
  id: text('id').primaryKey(),
  appliedAt: millis('applied_at').notNull(),
});

export const schema = { files, schemaMigrations };
export type Schema = typeof schema;
export type FileRow = typeof files.$inferSelect;
