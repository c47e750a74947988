import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callersFile, notFound } from '#shared/adapters/callers-file.ts';
import { eventBridgeClient, s3Client } from '#shared/adapters/clients.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { cors, httpErrors, json, noContent } from '#shared/adapters/http.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import { HttpError } from '#shared/domain/errors.ts';
import { derivedPrefix } from '#shared/domain/keys.ts';
import { REPROCESS_REQUESTED, reprocessMessage } from '#shared/domain/reprocess.ts';
import { logger, metrics, tracer } from '#shared/observability/powertools.ts';

const store = new ObjectStore(s3Client());
const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
// Opened during init (a failure fails the cold start), so no request waits for the driver.
const repository = await fileRepository();

/**
 * `DELETE /files/{fileId}`: marks the file DELETED first (so no late processing revives it),
 * removes every version of the original and of its derivatives, and publishes `file.deleted`.
 * Deleting again answers 204 and finishes a removal an earlier call could not complete.
 */
export const deleteFile = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const file = await callersFile(repository, event);
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
  const file = await callersFile(repository, event);
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

/**
 * The routes that change a file: `DELETE /files/{fileId}` and `POST /files/{fileId}/reprocess`.
 * Apart from the read routes, so that only this function may delete objects and publish events,
 * and the reads start without the EventBridge client.
 */
export const route = (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> =>
  event.resource === '/files/{fileId}/reprocess' ? reprocessFile(event) : deleteFile(event);

export const handler = middy(route)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(cors())
  .use(httpErrors());
