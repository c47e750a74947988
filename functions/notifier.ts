import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDbClient, webSocketManagementClient } from '#shared/adapters/clients.ts';
import { ConnectionStore } from '#shared/adapters/connection-store.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { pushTo } from '#shared/adapters/websocket-push.ts';
import { type FileEventEnvelope, notificationFor } from '#shared/domain/notification.ts';
import { logger, MetricName, metrics, tracer } from '#shared/observability/powertools.ts';

requireEnv('WEBSOCKET_MANAGEMENT_URL');
const store = new ConnectionStore(dynamoDbClient(), requireEnv('CONNECTIONS_TABLE_NAME'));

export interface NotifyResult {
  readonly connections: number;
  readonly sent: number;
  readonly gone: number;
}

/**
 * Pushes a `file.processed|failed|rejected` event to every open connection of the file's owner,
 * and to nobody else. A connection API Gateway reports gone (410) is forgotten. Any other
 * failure is thrown once every connection was tried, so the event's message is retried and, in
 * the end, parked in the notifier's DLQ; a retry may reach a connection twice, which the
 * message's `eventId` lets a client notice.
 */
export const notify = async (event: FileEventEnvelope): Promise<NotifyResult> => {
  let notification: ReturnType<typeof notificationFor>;
  try {
    notification = notificationFor(event);
  } catch (error) {
    // Not an event of ours: retrying it cannot help.
    logger.error('Event dropped', { error, eventId: event.id });
    return { connections: 0, sent: 0, gone: 0 };
  }
  const { ownerId, message } = notification;
  logger.appendKeys({ fileId: message.fileId, eventId: event.id });
  metrics.addMetadata('fileId', message.fileId);
  const connections = await store.ofOwner(ownerId);
  const client = webSocketManagementClient();
  const outcomes = await Promise.allSettled(connections.map((id) => pushTo(client, id, message)));
  let sent = 0;
  let gone = 0;
  const failures: unknown[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    const connectionId = connections[index] as string;
    if (outcome.status === 'rejected') {
      failures.push(outcome.reason);
      logger.warn('Push failed', { connectionId, error: outcome.reason });
    } else if (outcome.value === 'gone') {
      gone++;
      await store.remove(connectionId);
    } else {
      sent++;
    }
  }
  metrics.addMetric(MetricName.NotificationsSent, MetricUnit.Count, sent);
  if (gone > 0) metrics.addMetric(MetricName.ConnectionsGone, MetricUnit.Count, gone);
  logger.info('Owner notified', { connections: connections.length, sent, gone });
  if (failures.length > 0) {
    metrics.addMetric(MetricName.NotificationsFailed, MetricUnit.Count, failures.length);
    throw new AggregateError(
      failures,
      `${failures.length} of ${connections.length} connections could not be reached`,
    );
  }
  return { connections: connections.length, sent, gone };
};

const batch = new BatchProcessor(EventType.SQS);

/** One queue message is one bus event; an unreadable body is dropped, not retried forever. */
const notifyRecord = async (record: SQSRecord): Promise<void> => {
  let event: FileEventEnvelope;
  try {
    event = JSON.parse(record.body) as FileEventEnvelope;
  } catch (error) {
    logger.error('Message dropped: not JSON', { error, messageId: record.messageId });
    return;
  }
  try {
    await notify(event);
  } finally {
    logger.removeKeys(['fileId', 'eventId']);
  }
};

/** The notifier's queue: each event on its own, failures reported per message. */
export const notifyBatch = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, notifyRecord, batch, { context });

export const handler = middy(notifyBatch)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
