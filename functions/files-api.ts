import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callersFile, notFound } from '#shared/adapters/callers-file.ts';
import { s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv } from '#shared/adapters/env.ts';
import {
  cors,
  httpErrors,
  json,
  ownerOf,
  queryParameters,
  strictQuery,
} from '#shared/adapters/http.ts';
import { presignDownload } from '#shared/adapters/presign.ts';
import { THUMBNAIL_NAME } from '#shared/domain/derivatives.ts';
import { contentDisposition, downloadDisposition } from '#shared/domain/downloads.ts';
import {
  encodeCursor,
  FILE_QUERY_PARAMETERS,
  parseFileQuery,
} from '#shared/domain/file-query-params.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { logger, metrics, tracer } from '#shared/observability/powertools.ts';

const DOWNLOAD_TTL_SECONDS = intEnv('DOWNLOAD_URL_TTL_SECONDS', 300);

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
  // Only a long run reports how far it is (a video's transcode); null otherwise.
  const progress = file.status === 'PROCESSING' ? await repository.progressOf(file.fileId) : null;
  const expiresAt = new Date(Date.now() + DOWNLOAD_TTL_SECONDS * 1000).toISOString();
  const original = downloadDisposition(file.status, file.contentType);
  // Only a version the processor took is ever served, and the URL names it: bytes sent under
  // the key since (a form sent again) are never what a download returns.
  const download =
    HAS_OBJECT.has(file.status) && file.objectVersion !== null
      ? {
          url: await presignDownload(s3Client(), {
            bucket: file.bucket,
            key: file.key,
            ...(file.versionId && { versionId: file.versionId }),
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
      ...(d.width !== undefined && { width: d.width }),
      ...(d.height !== undefined && { height: d.height }),
      size: d.size,
      url: await presignDownload(s3Client(), {
        bucket: file.bucket,
        key: d.key,
        ...(d.versionId && { versionId: d.versionId }),
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
    kind: file.kind,
    dataset: file.dataset,
    status: file.status,
    size: file.size,
    contentType: file.contentType,
    declaredContentType: file.declaredContentType,
    sha256: file.sha256,
    metadata: file.metadata,
    reason: file.reason,
    progress,
    versionId: file.versionId,
    uploadExpiresAt: file.uploadExpiresAt?.toISOString() ?? null,
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
  const file = await callersFile(repository, event);
  if (file.status === 'DELETED') throw notFound(file.fileId);
  return json(200, await describe(file));
};

/**
 * A short-lived URL of the file's thumbnail, so a list shows pictures without a request per
 * file; signing is local work (no call to S3). It names the thumbnail's version, as
 * `GET /files/{fileId}` does: the one the run that checked the file wrote.
 */
const thumbnailUrl = async (file: FileRecord): Promise<string | null> => {
  const thumbnail = file.derivatives.find((d) => d.name === THUMBNAIL_NAME);
  if (!thumbnail || file.status !== 'PROCESSED') return null;
  return presignDownload(s3Client(), {
    bucket: file.bucket,
    key: thumbnail.key,
    ...(thumbnail.versionId && { versionId: thumbnail.versionId }),
    contentType: thumbnail.contentType,
    disposition: contentDisposition('inline', thumbnail.name),
    expiresInSeconds: DOWNLOAD_TTL_SECONDS,
  });
};

/** `GET /files`: one page of the caller's files, filtered and sorted, by keyset. */
export const listFiles = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const ownerId = ownerOf(event);
  const query = parseFileQuery(ownerId, queryParameters(event, FILE_QUERY_PARAMETERS), cursorKey);
  const page = await repository.list(query);
  const { limit: _limit, after: _after, ...bound } = query;
  const items = await Promise.all(
    page.items.map(async (file) => ({
      fileId: file.fileId,
      filename: file.filename,
      status: file.status,
      size: file.size,
      contentType: file.contentType,
      reason: file.reason,
      createdAt: file.createdAt.toISOString(),
      updatedAt: file.updatedAt.toISOString(),
      thumbnailUrl: await thumbnailUrl(file),
    })),
  );
  return json(200, {
    items,
    nextCursor: page.after ? encodeCursor(cursorKey, bound, page.after) : null,
  });
};

/**
 * The read routes of the files API: `GET /files` and `GET /files/{fileId}`. It may read the
 * bucket and the database, nothing more; deleting and reprocessing are file-actions', a video's
 * workflow workflow-api's.
 */
export const route = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> =>
  event.resource === '/files' ? listFiles(event) : getFile(event);

export const handler = middy(route)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors())
  .use(
    strictQuery({
      'GET /files': FILE_QUERY_PARAMETERS,
      'GET /files/{fileId}': [],
    }),
  );
