import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, listEnv, requireEnv } from '#shared/adapters/env.ts';
import type { NewFile } from '#shared/adapters/file-repository.ts';
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
import { HttpError } from '#shared/domain/errors.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { type MultipartSettings, usesMultipart } from '#shared/domain/multipart.ts';
import { secondsLeftInWindow, tooManyRequests } from '#shared/domain/request-limits.ts';
import {
  MAX_BATCH_FILES,
  parseUploadBatch,
  type UploadLimits,
  type ValidUpload,
  validateUploadRequest,
} from '#shared/domain/upload-request.ts';
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
// A batch's body: MAX_BATCH_FILES requests of at most the single request's size.
const MAX_BATCH_BODY_BYTES = MAX_BATCH_FILES * 4 * 1024;
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

/** A validated file with what its record and its upload need. */
interface PreparedUpload {
  readonly upload: ValidUpload;
  readonly record: NewFile;
  readonly multipart: boolean;
}

const prepare = (ownerId: string, upload: ValidUpload, now: Date): PreparedUpload => {
  const key = uploadKey(ownerId, upload.fileId, upload.kind);
  const multipart = usesMultipart(upload.size, MULTIPART);
  const expiresAt = new Date(
    now.getTime() + (multipart ? MULTIPART_SESSION_SECONDS : upload.expiresInSeconds) * 1000,
  );
  return {
    upload,
    multipart,
    record: {
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
    },
  };
};

/** The presigned POST or multipart session of a recorded file: the body of its 201. */
const issue = async ({ upload, record, multipart }: PreparedUpload) => {
  const post = multipart
    ? await startMultipartSession(s3, {
        bucket: BUCKET,
        key: record.key,
        contentType: upload.contentType,
        size: upload.size,
        minPartBytes: MULTIPART.minPartBytes,
      })
    : await presignUpload(s3, {
        bucket: BUCKET,
        key: record.key,
        contentType: upload.contentType,
        size: upload.size,
        expiresInSeconds: upload.expiresInSeconds,
      });
  return {
    fileId: upload.fileId,
    kind: upload.kind,
    ...(upload.dataset !== null && { dataset: upload.dataset }),
    upload: post,
    expiresAt: record.uploadExpiresAt.toISOString(),
  };
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
  const prepared = prepare(ownerId, upload, now);
  await record(ownerId, [prepared], now);
  const body = await issue(prepared);
  metrics.addMetric(MetricName.UploadsRequested, 'Count', 1);
  logger.info('Upload requested', {
    size: upload.size,
    contentType: upload.contentType,
    kind: upload.kind,
  });
  return json(201, body);
};

/**
 * Records files as PENDING_UPLOAD and counts them against the owner's limits
 * (request-limits.ts), each file as one upload request, in one statement; refuses them all
 * with a 429 when they would pass a limit (nothing is recorded or counted then).
 */
const record = async (
  ownerId: string,
  files: readonly PreparedUpload[],
  now: Date,
): Promise<void> => {
  const created = await repository.createPendingBatch(
    ownerId,
    files.map((file) => file.record),
    { perMinute: UPLOADS_PER_MINUTE, pendingCap: MAX_PENDING_UPLOADS, now },
  );
  if (created.created) return;
  const batch = files.length === 1 ? undefined : files.length;
  if (created.refusedBy === 'pendingUploads') {
    const room = Math.max(0, MAX_PENDING_UPLOADS - created.pendingUploads);
    throw tooManyRequests(
      batch === undefined
        ? `${MAX_PENDING_UPLOADS} of your uploads are still waiting for their files; send them, or let their URLs expire, before asking for more`
        : `${created.pendingUploads} of your uploads are still waiting for their files and at most ${MAX_PENDING_UPLOADS} may be: a batch of ${batch} does not fit (${room} would); send those files, or let their URLs expire, before asking for more`,
      60,
    );
  }
  const wait = secondsLeftInWindow(now);
  throw tooManyRequests(
    batch === undefined
      ? `At most ${UPLOADS_PER_MINUTE} upload requests a minute are accepted per user; try again in ${wait} s`
      : `At most ${UPLOADS_PER_MINUTE} upload requests a minute are accepted per user, each file of a batch counted as one: a batch of ${batch} does not fit in this minute's; try again in ${wait} s, or in smaller batches`,
    wait,
  );
};

/**
 * `POST /uploads/batch`: up to MAX_BATCH_FILES uploads in one request. Each file is checked as
 * `POST /uploads` checks it and answered in the request's order: its 201 body, or its own error
 * (the codes `POST /uploads` would answer). The valid ones are recorded in one statement and
 * counted against the owner's limits as that many single requests; a batch that would pass a
 * limit is refused whole (429, nothing recorded or counted), so a client never has to sort out
 * which of its files got through.
 */
export const createUploadBatch = async (
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> => {
  const ownerId = ownerOf(event);
  const requests = parseUploadBatch(parseJsonBody(event, MAX_BATCH_BODY_BYTES));
  const now = new Date();
  const checked = requests.map((request): PreparedUpload | HttpError => {
    try {
      return prepare(ownerId, validateUploadRequest(request, LIMITS), now);
    } catch (error) {
      if (error instanceof HttpError) return error;
      throw error;
    }
  });
  const valid = checked.filter((item): item is PreparedUpload => !(item instanceof HttpError));
  await record(ownerId, valid, now);
  // Signing is local work, the multipart sessions one S3 call each: all at once.
  const items = await Promise.all(
    checked.map((item) =>
      item instanceof HttpError
        ? { error: { code: item.code, message: item.message } }
        : issue(item),
    ),
  );
  metrics.addMetric(MetricName.UploadsRequested, 'Count', valid.length);
  logger.info('Upload batch requested', {
    files: requests.length,
    recorded: valid.length,
    refused: requests.length - valid.length,
  });
  return json(200, { items });
};

/** Which route an event is for: one function serves both upload-creating routes. */
const route = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> =>
  event.resource === '/uploads/batch' ? createUploadBatch(event) : createUpload(event);

export const handler = middy(route)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors())
  .use(strictQuery({ 'POST /uploads': [], 'POST /uploads/batch': [] }));
