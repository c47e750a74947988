import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callersFile } from '#shared/adapters/callers-file.ts';
import { eventBridgeClient, multipartS3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import {
  cors,
  httpErrors,
  json,
  noContent,
  parseJsonBody,
  strictQuery,
} from '#shared/adapters/http.ts';
import { MultipartStore } from '#shared/adapters/multipart-store.ts';
import { combineCrc64, crc64FromBase64, crc64ToBase64 } from '#shared/domain/crc64nvme.ts';
import { HttpError } from '#shared/domain/errors.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import {
  isCrc64Base64,
  type PartPlan,
  parsePartNumbers,
  partProblems,
  planParts,
  type StoredPart,
} from '#shared/domain/multipart.ts';
import { logger, MetricName, metrics, tracer } from '#shared/observability/powertools.ts';
import { announceDeletion } from '#shared/processing/complete-deletion.ts';

const store = new MultipartStore(multipartS3Client(), requireEnv('BUCKET_NAME'));
const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
const MIN_PART_BYTES = intEnv('MULTIPART_MIN_PART_BYTES', 5 * 1024 ** 2);
const PART_URL_TTL_SECONDS = intEnv('PART_URL_TTL_SECONDS', 900);
const MAX_BODY_BYTES = 16 * 1024;
// Opened during init (a failure fails the cold start), so no request waits for the driver.
const repository = await fileRepository();

/** The caller's file while it still waits for its bytes, with its part plan. */
const pendingUpload = async (
  event: APIGatewayProxyEvent,
): Promise<{ file: FileRecord; plan: PartPlan }> => {
  const file = await callersFile(repository, event);
  if (file.status !== 'PENDING_UPLOAD') {
    throw new HttpError(
      'CONFLICT',
      `The upload is over: the file is ${file.status}${file.status === 'DELETED' ? ' (aborted or deleted)' : ''}`,
    );
  }
  return { file, plan: planParts(file.declaredSize, MIN_PART_BYTES) };
};

const uploadIdOf = (value: unknown): string => {
  if (typeof value !== 'string' || !/^[\w.=+/-]{1,1024}$/.test(value)) {
    throw new HttpError('BAD_REQUEST', 'uploadId: must be the id POST /uploads returned');
  }
  return value;
};

const noSuchUpload = (): HttpError =>
  new HttpError('NOT_FOUND', 'No multipart upload in progress for this file with that uploadId');

const bodyObject = (event: APIGatewayProxyEvent): Record<string, unknown> => {
  const body = parseJsonBody(event, MAX_BODY_BYTES);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('BAD_REQUEST', 'body: must be a JSON object');
  }
  return body as Record<string, unknown>;
};

/** `POST /uploads/{fileId}/parts`: short-lived PUT URLs for a batch of parts. */
export const signParts = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const { file, plan } = await pendingUpload(event);
  const body = bodyObject(event);
  const uploadId = uploadIdOf(body.uploadId);
  const partNumbers = parsePartNumbers(body.partNumbers, plan);
  // Signing needs no call to S3; asking it first keeps URLs from being handed out for an upload
  // that is not there (aborted, completed, someone else's id).
  if ((await store.listParts(file.key, uploadId)) === undefined) throw noSuchUpload();
  const parts = await store.presignParts(file.key, uploadId, partNumbers, PART_URL_TTL_SECONDS);
  const expiresAt = new Date(Date.now() + PART_URL_TTL_SECONDS * 1000).toISOString();
  return json(200, { fileId: file.fileId, parts, expiresAt });
};

/** `GET /uploads/{fileId}/parts?uploadId=`: the parts S3 holds, for a client that resumes. */
export const listParts = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const { file, plan } = await pendingUpload(event);
  const uploadId = uploadIdOf(event.queryStringParameters?.uploadId);
  const parts = await store.listParts(file.key, uploadId);
  if (parts === undefined) throw noSuchUpload();
  return json(200, {
    fileId: file.fileId,
    partSize: plan.partSize,
    partCount: plan.partCount,
    parts: parts.map((p) => ({
      partNumber: p.partNumber,
      size: p.size,
      etag: p.etag,
      ...(p.checksumCrc64nvme && { checksumCrc64nvme: p.checksumCrc64nvme }),
    })),
  });
};

/**
 * The whole object's CRC64NVME from S3's own per-part checksums, or undefined when S3 did not
 * give one for every part. S3 computed these from the bytes it received, so they are its word,
 * not the client's.
 */
const fullObjectCrc = (parts: readonly StoredPart[]): string | undefined => {
  let crc: bigint | undefined;
  for (const part of parts) {
    if (!part.checksumCrc64nvme) return undefined;
    const partCrc = crc64FromBase64(part.checksumCrc64nvme);
    crc = crc === undefined ? partCrc : combineCrc64(crc, partCrc, part.size);
  }
  return crc === undefined ? undefined : crc64ToBase64(crc);
};

/** Ends the file REJECTED and tells its owner, as the processor would. */
const reject = async (file: FileRecord, reason: string): Promise<APIGatewayProxyResult> => {
  const rejected = await repository.rejectUpload(file.ownerId, file.fileId, reason);
  if (!rejected) throw new HttpError('CONFLICT', 'The file changed status meanwhile');
  await events.publish('file.rejected', rejected);
  await repository.markPublished(rejected.fileId, 'REJECTED');
  logger.info('Multipart upload rejected', { reason });
  return json(200, { fileId: file.fileId, status: 'REJECTED', reason });
};

/**
 * `POST /uploads/{fileId}/complete`: lists the parts itself (never trusting the client's list),
 * refuses missing or misshapen parts (409, the upload stays open to fix them), compares S3's
 * checksum of the bytes with the one the client computed while reading the file, and joins the
 * parts into the one object version the processor then takes up like any other upload. A
 * checksum mismatch aborts the upload and ends the file REJECTED, before any object exists.
 */
export const completeUpload = async (
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> => {
  const { file, plan } = await pendingUpload(event);
  const body = bodyObject(event);
  const uploadId = uploadIdOf(body.uploadId);
  if (!isCrc64Base64(body.checksumCrc64nvme)) {
    throw new HttpError(
      'BAD_REQUEST',
      'checksumCrc64nvme: must be the CRC64NVME of the whole file, 8 bytes in base64',
    );
  }
  const clientCrc = body.checksumCrc64nvme;
  const parts = await store.listParts(file.key, uploadId);
  if (parts === undefined) throw noSuchUpload();
  const problems = partProblems(parts, plan, file.declaredSize);
  if (problems.length > 0)
    throw new HttpError('CONFLICT', `Cannot complete: ${problems.join('; ')}`);
  const s3Crc = fullObjectCrc(parts);
  const mismatch = (crc: string) =>
    `The uploaded bytes do not match the file that was read: CRC64NVME ${crc} in the bucket, ${clientCrc} computed by the client`;
  if (s3Crc !== undefined && s3Crc !== clientCrc) {
    await store.abort(file.key, uploadId);
    return reject(file, mismatch(s3Crc));
  }
  const completed = await store.complete(file.key, uploadId, parts);
  // Where S3 gave no per-part checksums, its full-object checksum is the check; the refused
  // version goes at once (the processor skips a REJECTED file's objects).
  if (
    s3Crc === undefined &&
    completed.checksumType === 'FULL_OBJECT' &&
    completed.checksumCrc64nvme !== clientCrc
  ) {
    const response = await reject(file, mismatch(completed.checksumCrc64nvme ?? 'none'));
    if (completed.versionId) await store.deleteVersion(file.key, completed.versionId);
    return response;
  }
  // S3's word on the bytes: its per-part checksums combined, or its full-object checksum.
  const verifiedCrc =
    s3Crc ?? (completed.checksumType === 'FULL_OBJECT' ? completed.checksumCrc64nvme : undefined);
  if (verifiedCrc === undefined) {
    // An S3 (or S3-compatible store) that keeps no CRC64NVME: refusing would make large uploads
    // impossible there, so the file goes on, but nobody is told its bytes were checked. The
    // processor's SHA-256 cannot stand in: the client never declared one for a multipart upload.
    metrics.addMetric(MetricName.MultipartChecksumsUnverified, 'Count', 1);
    logger.warn('Multipart upload completed without a checksum from S3 to compare', {
      fileId: file.fileId,
      parts: parts.length,
      checksumType: completed.checksumType ?? 'none',
    });
  }
  // The bytes are in: the file waits for the processor (which may already have taken it).
  await repository.markUploaded([{ fileId: file.fileId, ownerId: file.ownerId }]);
  metrics.addMetric(MetricName.MultipartUploadsCompleted, 'Count', 1);
  logger.info('Multipart upload completed', { parts: parts.length, size: file.declaredSize });
  return json(200, {
    fileId: file.fileId,
    status: 'UPLOADED',
    checksumVerified: verifiedCrc !== undefined,
    ...(verifiedCrc !== undefined && { checksumCrc64nvme: verifiedCrc }),
  });
};

/**
 * `DELETE /uploads/{fileId}?uploadId=`: aborts the upload and marks the file DELETED (it never
 * had bytes). Aborting again answers 204; a file whose upload completed is for
 * `DELETE /files/{fileId}` (409).
 */
export const abortUpload = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(repository, event);
  const uploadId = uploadIdOf(event.queryStringParameters?.uploadId);
  if (file.status === 'DELETED') return noContent();
  if (file.status !== 'PENDING_UPLOAD') {
    throw new HttpError(
      'CONFLICT',
      `The upload completed (the file is ${file.status}); delete it with DELETE /files/{fileId}`,
    );
  }
  if (!(await store.abort(file.key, uploadId))) throw noSuchUpload();
  await repository.markDeleted(file.ownerId, file.fileId);
  // It never had an object: file.deleted once, and only ids, status and timestamps kept.
  await announceDeletion({ repository, events }, file.fileId);
  logger.info('Multipart upload aborted');
  return noContent();
};

const ROUTES: Record<string, (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>> = {
  'POST /uploads/{fileId}/parts': signParts,
  'GET /uploads/{fileId}/parts': listParts,
  'POST /uploads/{fileId}/complete': completeUpload,
  'DELETE /uploads/{fileId}': abortUpload,
};

/** One function for the routes of an upload in parts, chosen by API Gateway's resource. */
export const route = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const handle = ROUTES[`${event.httpMethod} ${event.resource}`];
  if (!handle) throw new HttpError('NOT_FOUND', `No route ${event.httpMethod} ${event.resource}`);
  return handle(event);
};

export const handler = middy(route)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors())
  .use(
    strictQuery({
      'POST /uploads/{fileId}/parts': [],
      'GET /uploads/{fileId}/parts': ['uploadId'],
      'POST /uploads/{fileId}/complete': [],
      'DELETE /uploads/{fileId}': ['uploadId'],
    }),
  );
