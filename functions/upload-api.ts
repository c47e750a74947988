import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, listEnv, requireEnv } from '#shared/adapters/env.ts';
import {
  cors,
  httpErrors,
  json,
  ownerOf,
  parseJsonBody,
  strictQuery,
} from '#shared/adapters/http.ts';
import { startMultipartSession } from '#shared/adapters/multipart-session.ts';
import { presignUpload } from '#shared/adapters/presign.ts';
import { DEFAULT_ALLOWED_CONTENT_TYPES } from '#shared/domain/content-types.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { type MultipartSettings, usesMultipart } from '#shared/domain/multipart.ts';
import { secondsLeftInWindow, tooManyRequests } from '#shared/domain/request-limits.ts';
import { type UploadLimits, validateUploadRequest } from '#shared/domain/upload-request.ts';
import { logger, MetricName, metrics, tracer } from '#shared/observability/powertools.ts';

const BUCKET = requireEnv('BUCKET_NAME');
const LIMITS: UploadLimits = {
  maxUploadBytes: intEnv('MAX_UPLOAD_BYTES', 5 * 1024 ** 3),
  allowedContentTypes: listEnv('ALLOWED_CONTENT_TYPES', DEFAULT_ALLOWED_CONTENT_TYPES),
  uploadUrlTtlSeconds: intEnv('UPLOAD_URL_TTL_SECONDS', 900),
};
const UPLOADS_PER_MINUTE = intEnv('UPLOADS_PER_MINUTE', 600);
const MAX_PENDING_UPLOADS = intEnv('MAX_PENDING_UPLOADS', 1000);
const MAX_BODY_BYTES = 16 * 1024;
const s3 = s3Client();
// Large files get a multipart session instead of a POST (functions/multipart-api.ts).
const MULTIPART: MultipartSettings = {
  thresholdBytes: intEnv('MULTIPART_THRESHOLD_BYTES', 100 * 1024 ** 2),
  minPartBytes: intEnv('MULTIPART_MIN_PART_BYTES', 5 * 1024 ** 2),
};
/**
 * A multipart session lasts until the bucket aborts it (its lifecycle rule), not a URL's
 * lifetime: a large upload may take hours, and its parts are signed as it goes.
 */
const MULTIPART_SESSION_SECONDS = intEnv('ABORT_INCOMPLETE_MULTIPART_DAYS', 2) * 86_400;
// Opened during init (a failure fails the cold start), so no request waits for the driver.
const repository = await fileRepository();

/**
 * Refuses a request over the owner's limits (request-limits.ts): too many upload requests this
 * minute, or too many uploads left open.
 */
const checkLimits = async (ownerId: string, now: Date): Promise<void> => {
  const counted = await repository.countRequest(ownerId, 'upload', now, MAX_PENDING_UPLOADS);
  if (counted.count > UPLOADS_PER_MINUTE) {
    const wait = secondsLeftInWindow(now);
    throw tooManyRequests(
      `At most ${UPLOADS_PER_MINUTE} upload requests a minute are accepted per user; try again in ${wait} s`,
      wait,
    );
  }
  if (counted.pendingUploads >= MAX_PENDING_UPLOADS) {
    throw tooManyRequests(
      `${MAX_PENDING_UPLOADS} of your uploads are still waiting for their files; send them, or let their URLs expire, before asking for more`,
      60,
    );
  }
};

/**
 * `POST /uploads`: validates the request, records the file as PENDING_UPLOAD, returns a presigned
 * POST, or a multipart session for a file at or above the stage's threshold.
 */
export const createUpload = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const ownerId = ownerOf(event);
  const upload = validateUploadRequest(parseJsonBody(event, MAX_BODY_BYTES), LIMITS);
  logger.appendKeys({ fileId: upload.fileId });
  metrics.addMetadata('fileId', upload.fileId);
  const now = new Date();
  await checkLimits(ownerId, now);
  const key = uploadKey(ownerId, upload.fileId, upload.kind);
  const multipart = usesMultipart(upload.size, MULTIPART);
  const expiresAt = new Date(
    now.getTime() + (multipart ? MULTIPART_SESSION_SECONDS : upload.expiresInSeconds) * 1000,
  );
  await repository.createPending({
    fileId: upload.fileId,
    ownerId,
    filename: upload.filename,
    contentType: upload.contentType,
    size: upload.size,
    checksumSha256: upload.checksumSha256,
    bucket: BUCKET,
    key,
    kind: upload.kind,
    dataset: upload.dataset,
    uploadExpiresAt: expiresAt,
  });
  const post = multipart
    ? await startMultipartSession(s3, {
        bucket: BUCKET,
        key,
        contentType: upload.contentType,
        size: upload.size,
        minPartBytes: MULTIPART.minPartBytes,
      })
    : await presignUpload(s3, {
        bucket: BUCKET,
        key,
        contentType: upload.contentType,
        size: upload.size,
        expiresInSeconds: upload.expiresInSeconds,
      });
  metrics.addMetric(MetricName.UploadsRequested, 'Count', 1);
  logger.info('Upload requested', {
    size: upload.size,
    contentType: upload.contentType,
    kind: upload.kind,
  });
  return json(201, {
    fileId: upload.fileId,
    kind: upload.kind,
    ...(upload.dataset !== null && { dataset: upload.dataset }),
    upload: post,
    expiresAt: expiresAt.toISOString(),
  });
};

export const handler = middy(createUpload)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors())
  .use(strictQuery({ 'POST /uploads': [] }));
