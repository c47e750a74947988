import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { eventBridgeClient, s3Client } from '#shared/adapters/clients.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { httpErrors, json, noContent, ownerOf } from '#shared/adapters/http.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import { presignDownload } from '#shared/adapters/presign.ts';
import { contentDisposition, downloadDisposition } from '#shared/domain/downloads.ts';
import { HttpError } from '#shared/domain/errors.ts';
import { encodeCursor, parseFileQuery } from '#shared/domain/file-query-params.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { derivedPrefix, isFileId } from '#shared/domain/keys.ts';
import { REPROCESS_REQUESTED, reprocessMessage } from '#shared/domain/reprocess.ts';
import { logger, metrics, tracer } from '#shared/observability/powertools.ts';

const DOWNLOAD_TTL_SECONDS = intEnv('DOWNLOAD_URL_TTL_SECONDS', 300);

const store = new ObjectStore(s3Client());
const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
// Opened during init (a failure fails the cold start), so no request waits for the driver.
const repository = await fileRepository();

/**
 * The key that signs list cursors: made by a migration and kept in the database (see
 * migrations/0002_settings.ts), read once at init; CURSOR_KEY gives one directly (tests).
 */
const loadCursorKey = async (): Promise<Buffer> => {
  const key = process.env.CURSOR_KEY || (await repository.setting('cursor_key'));
  if (!key) throw new Error('No cursor key: the settings migration has not run');
  return Buffer.from(key, 'utf8');
};
const cursorKey = await loadCursorKey();

/** Statuses in which the original object is in the bucket. */
const HAS_OBJECT = new Set(['UPLOADED', 'PROCESSING', 'PROCESSED', 'FAILED', 'REJECTED']);

const describe = async (file: FileRecord) => {
  const expiresAt = new Date(Date.now() + DOWNLOAD_TTL_SECONDS * 1000).toISOString();
  const original = downloadDisposition(file.status, file.contentType);
  const download = HAS_OBJECT.has(file.status)
    ? {
        url: await presignDownload(s3Client(), {
          bucket: file.bucket,
          key: file.key,
          contentType: original.contentType,
          disposition: contentDisposition(original.kind, file.filename),
          expiresInSeconds: DOWNLOAD_TTL_SECONDS,
        }),
        expiresAt,
      }
    : null;
  const derivatives = await Promise.all(
    file.derivatives.map(async (d) => ({
      name: d.name,
      contentType: d.contentType,
      width: d.width,
      height: d.height,
      size: d.size,
      url: await presignDownload(s3Client(), {
        bucket: file.bucket,
        key: d.key,
        contentType: d.contentType,
        disposition: contentDisposition('inline', d.name),
        expiresInSeconds: DOWNLOAD_TTL_SECONDS,
      }),
      expiresAt,
    })),
  );
  return {
    fileId: file.fileId,
    filename: file.filename,
    status: file.status,
    size: file.size,
    contentType: file.contentType,
    declaredContentType: file.declaredContentType,
    sha256: file.sha256,
    metadata: file.metadata,
    reason: file.reason,
    createdAt: file.createdAt.toISOString(),
    updatedAt: file.updatedAt.toISOString(),
    processedAt: file.processedAt?.toISOString() ?? null,
    download,
    derivatives,
  };
};

/**
 * `GET /files/{fileId}`: the caller's file with its metadata and short-lived download URLs.
 * Another user's file, a deleted one and one that never existed all answer the same 404.
 */
export const getFile = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(event);
  if (file.status === 'DELETED') throw notFound(file.fileId);
  return json(200, await describe(file));
};

const notFound = (fileId: string): HttpError =>
  new HttpError('NOT_FOUND', `No file ${JSON.stringify(fileId)}`);

/** The caller's file named by the path, or the 404 that also stands for another user's file. */
const callersFile = async (event: APIGatewayProxyEvent): Promise<FileRecord> => {
  const ownerId = ownerOf(event);
  const fileId = event.pathParameters?.fileId ?? '';
  if (!isFileId(fileId)) throw notFound(fileId);
  logger.appendKeys({ fileId });
  const file = await repository.getForOwner(ownerId, fileId);
  if (!file) throw notFound(fileId);
  return file;
};

/**
 * `DELETE /files/{fileId}`: marks the file DELETED first (so no late processing revives it),
 * removes every version of the original and of its derivatives, and publishes `file.deleted`.
 * Deleting again answers 204 and finishes a removal an earlier call could not complete.
 */
export const deleteFile = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(event);
  const newlyDeleted = await repository.markDeleted(file.ownerId, file.fileId);
  const removed = await store.deleteEverything(file.bucket, [
    file.key,
    derivedPrefix(file.ownerId, file.fileId),
  ]);
  if (newlyDeleted) {
    const deleted = await repository.get(file.fileId);
    if (deleted) await events.publish('file.deleted', deleted);
  }
  logger.info('File deleted', { objectVersionsRemoved: removed, newlyDeleted });
  return noContent();
};

/**
 * `POST /files/{fileId}/reprocess`: queues the file's current object for the processor again and
 * answers 202; the outcome arrives as a new `file.*` event. The file goes back to UPLOADED first,
 * so the processor, which never redoes a finished version, takes it up.
 */
export const reprocessFile = async (
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(event);
  if (file.status === 'DELETED') throw notFound(file.fileId);
  if (file.status === 'PENDING_UPLOAD') {
    throw new HttpError(
      'CONFLICT',
      'The file has not been uploaded yet; there is nothing to process',
    );
  }
  if (file.status === 'PROCESSING') {
    throw new HttpError('CONFLICT', 'The file is being processed now; ask again once it has ended');
  }
  const object = await store.head(file.bucket, file.key);
  if (!object) {
    throw new HttpError('CONFLICT', 'The uploaded object is no longer in the bucket');
  }
  const queued = await repository.queueReprocess(file.ownerId, file.fileId);
  if (!queued) {
    throw new HttpError('CONFLICT', 'The file changed status meanwhile; read it and ask again');
  }
  const reprocessId = randomUUID();
  // Through the bus: a rule sends the request to the processor's queue (and anyone may watch).
  await events.put(
    REPROCESS_REQUESTED,
    reprocessMessage({ bucket: file.bucket, key: file.key, ...object }, reprocessId),
    file.fileId,
  );
  logger.info('Reprocess queued', { reprocessId, previousStatus: file.status });
  return json(202, { fileId: file.fileId, status: queued.status, reprocessId });
};

/** `GET /files`: one page of the caller's files, filtered and sorted, by keyset. */
export const listFiles = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const ownerId = ownerOf(event);
  const query = parseFileQuery(ownerId, event.queryStringParameters ?? {}, cursorKey);
  const page = await repository.list(query);
  const { limit: _limit, after: _after, ...bound } = query;
  return json(200, {
    items: page.items.map((file) => ({
      fileId: file.fileId,
      filename: file.filename,
      status: file.status,
      size: file.size,
      contentType: file.contentType,
      reason: file.reason,
      createdAt: file.createdAt.toISOString(),
      updatedAt: file.updatedAt.toISOString(),
    })),
    nextCursor: page.after ? encodeCursor(cursorKey, bound, page.after) : null,
  });
};

/** One function serves the files routes; API Gateway's resource path picks the route. */
export const route = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  if (event.resource === '/files') return listFiles(event);
  if (event.resource === '/files/{fileId}/reprocess') return reprocessFile(event);
  return event.httpMethod === 'DELETE' ? deleteFile(event) : getFile(event);
};

export const handler = middy(route)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(httpErrors());
