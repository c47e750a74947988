import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callersFile, notFound } from '#shared/adapters/callers-file.ts';
import { eventBridgeClient, s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { cors, httpErrors, json, noContent, strictQuery } from '#shared/adapters/http.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import { HttpError } from '#shared/domain/errors.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { stuckReason, timingFromEnvironment } from '#shared/domain/lifecycle.ts';
import { REPROCESS_REQUESTED, reprocessMessage } from '#shared/domain/reprocess.ts';
import { secondsLeftInWindow, tooManyRequests } from '#shared/domain/request-limits.ts';
import { logger, metrics, tracer } from '#shared/observability/powertools.ts';
import { completeDeletion } from '#shared/processing/complete-deletion.ts';

const store = new ObjectStore(s3Client());
const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
const TIMING = timingFromEnvironment();
const REPROCESS_PER_MINUTE = intEnv('REPROCESS_PER_MINUTE', 60);
// Opened during init (a failure fails the cold start), so no request waits for the driver.
const repository = await fileRepository();

/**
 * `DELETE /files/{fileId}`: marks the file DELETED first (so no late processing revives it),
 * removes every version of the original and of its derivatives, publishes `file.deleted` once,
 * and keeps only ids, status and timestamps of the record. Deleting again answers 204 and
 * finishes what an earlier call could not (its removal or its event).
 */
export const deleteFile = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(repository, event);
  if (file.status === 'DELETED' && file.publishedStatus === 'DELETED') return noContent();
  const newlyDeleted = await repository.markDeleted(file.ownerId, file.fileId);
  const removed = await completeDeletion({ repository, store, events }, file);
  logger.info('File deleted', { objectVersionsRemoved: removed, newlyDeleted });
  return noContent();
};

/** The 202 of a reprocess request, new or joined. */
const accepted = (file: FileRecord, reprocessId: string): APIGatewayProxyResult =>
  json(202, { fileId: file.fileId, status: 'UPLOADED', reprocessId });

/** Why a file cannot be queued now, as the 409 its owner reads. */
const notReprocessable = (file: FileRecord): HttpError => {
  switch (file.status) {
    case 'PENDING_UPLOAD':
    case 'EXPIRED':
      return new HttpError(
        'CONFLICT',
        'The file has not been uploaded yet; there is nothing to process',
      );
    case 'PROCESSING':
      return new HttpError(
        'CONFLICT',
        'The file is being processed now; ask again once it has ended',
      );
    case 'UPLOADED':
      return new HttpError(
        'CONFLICT',
        'The file is queued for processing already; its outcome arrives as an event',
      );
    default:
      return new HttpError('CONFLICT', 'The file changed status meanwhile; read it and ask again');
  }
};

/**
 * `POST /files/{fileId}/reprocess`: queues the version of the file that was checked for the
 * processor again and answers 202; the outcome arrives as a new `file.*` event. A file already
 * queued by a reprocess joins that request (same `reprocessId`); a file queued otherwise or
 * running is refused (409) unless it is stuck, so one file never has two runs. Requests per
 * user and minute are limited (429 with Retry-After).
 */
export const reprocessFile = async (
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(repository, event);
  if (file.status === 'DELETED') throw notFound(file.fileId);
  const now = new Date();
  const counted = await repository.countRequest(file.ownerId, 'reprocess', now, 0);
  if (counted.count > REPROCESS_PER_MINUTE) {
    const wait = secondsLeftInWindow(now);
    throw tooManyRequests(
      `At most ${REPROCESS_PER_MINUTE} reprocess requests a minute are accepted per user; try again in ${wait} s`,
      wait,
    );
  }
  if (file.status === 'UPLOADED' && file.reprocessId) return accepted(file, file.reprocessId);
  const stuck = stuckReason(file, TIMING, now) !== undefined;
  if (
    file.status === 'PENDING_UPLOAD' ||
    file.status === 'EXPIRED' ||
    ((file.status === 'PROCESSING' || file.status === 'UPLOADED') && !stuck)
  ) {
    throw notReprocessable(file);
  }
  // The version that was checked, never whatever is current under the key.
  const object = await store.head(file.bucket, file.key, file.versionId ?? undefined);
  if (!object) {
    throw new HttpError('CONFLICT', 'The uploaded object is no longer in the bucket');
  }
  const reprocessId = randomUUID();
  const queued = await repository.queueReprocess(file.ownerId, file.fileId, reprocessId, {
    timing: TIMING,
    now,
    kind: file.kind,
  });
  if (!queued) {
    const current = (await repository.get(file.fileId)) ?? file;
    if (current.status === 'UPLOADED' && current.reprocessId) {
      return accepted(current, current.reprocessId);
    }
    throw notReprocessable(current);
  }
  // Through the bus: a rule sends the request to the processor's queue (and anyone may watch).
  try {
    await events.put(
      REPROCESS_REQUESTED,
      reprocessMessage({ bucket: file.bucket, key: file.key, ...object }, reprocessId, file.kind),
      file.fileId,
    );
  } catch (error) {
    // Nothing was queued: the file goes back to where it was, so the next request may try.
    await repository.abandonReprocess(file.fileId, reprocessId, file.status);
    throw error;
  }
  logger.info('Reprocess queued', { reprocessId, previousStatus: file.status, stuck });
  return accepted(queued, reprocessId);
};

/**
 * The routes that change a file: `DELETE /files/{fileId}` and `POST /files/{fileId}/reprocess`.
 * Apart from the read routes, so that only this function may delete objects and publish events,
 * and the reads start without the EventBridge client.
 */
export const route = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> =>
  event.resource === '/files/{fileId}/reprocess' ? reprocessFile(event) : deleteFile(event);

export const handler = middy(route)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors())
  .use(strictQuery({ 'DELETE /files/{fileId}': [], 'POST /files/{fileId}/reprocess': [] }));
