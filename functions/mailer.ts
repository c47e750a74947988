import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { ListUsersCommand } from '@aws-sdk/client-cognito-identity-provider';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { cognitoClient, dynamoDbClient, sesClient } from '#shared/adapters/clients.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import {
  type FileEventEnvelope,
  notificationFor,
  reprocessMayHelp,
} from '#shared/domain/notification.ts';
import { logger, MetricName, metrics, tracer } from '#shared/observability/powertools.ts';

const SENDER = requireEnv('NOTIFICATION_SENDER');
const USER_POOL_ID = requireEnv('USER_POOL_ID');
/** The web console, whose `#file=<fileId>` opens a file's view; absent where there is none. */
const CONSOLE_URL = process.env.CONSOLE_URL || undefined;
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: requireEnv('IDEMPOTENCY_TABLE_NAME'),
  awsSdkV3Client: dynamoDbClient(),
});
/**
 * One email per file and outcome, however often its event arrives (EventBridge and Lambda's
 * asynchronous retries deliver at least once) and however often a reprocess ends the same way.
 */
const onePerOutcome = new IdempotencyConfig({
  eventKeyJmesPath: '[detail.fileId, "detail-type"]',
  expiresAfterSeconds: 30 * 24 * 3600,
});

/** The user's email address, from the pool (the owner id is their `sub`). */
const emailOf = async (ownerId: string): Promise<string | undefined> => {
  if (!/^[\w-]+$/.test(ownerId)) return undefined;
  const users = await cognitoClient().send(
    new ListUsersCommand({ UserPoolId: USER_POOL_ID, Filter: `sub = "${ownerId}"`, Limit: 1 }),
  );
  return users.Users?.[0]?.Attributes?.find((a) => a.Name === 'email')?.Value;
};

/**
 * Emails the owner when a file ends FAILED or REJECTED (the stack adds this function only when
 * the stage names a sender identity). A failure to send is thrown: Lambda retries the event and
 * finally parks it in the notifications DLQ.
 */
export const mail = async (event: FileEventEnvelope): Promise<'sent' | 'skipped'> => {
  let notification: ReturnType<typeof notificationFor>;
  try {
    notification = notificationFor(event);
  } catch (error) {
    logger.error('Event dropped', { error, eventId: event.id });
    return 'skipped';
  }
  const { ownerId, message } = notification;
  if (message.type === 'file.processed') return 'skipped';
  logger.appendKeys({ fileId: message.fileId, eventId: event.id });
  const to = await emailOf(ownerId);
  if (!to) {
    logger.warn('The owner has no email address; nothing sent');
    return 'skipped';
  }
  const outcome = message.type === 'file.failed' ? 'could not be processed' : 'was rejected';
  // Events published before the detail carried the name (an archive replay) name the id.
  const name =
    typeof event.detail.filename === 'string' && event.detail.filename !== ''
      ? `"${event.detail.filename}"`
      : message.fileId;
  const next = reprocessMayHelp(message.status, message.reason)
    ? [
        'It failed for a reason on our side: processing it again may well succeed. Reprocess it',
        `from its view in the console, with \`syncflow reprocess ${message.fileId}\`, or with`,
        `POST /files/${message.fileId}/reprocess.`,
      ]
    : message.type === 'file.rejected'
      ? [
          'Processing it again would give the same answer: its bytes do not change. Upload the',
          'right file, declared as what it is.',
        ]
      : [
          'Processing it again would end the same way: the file itself cannot be processed.',
          'Check it, then upload it again.',
        ];
  await sesClient().send(
    new SendEmailCommand({
      FromEmailAddress: SENDER,
      Destination: { ToAddresses: [to] },
      Content: {
        Simple: {
          Subject: { Data: `SyncFlow: ${name} ${outcome}`, Charset: 'UTF-8' },
          Body: {
            Text: {
              Charset: 'UTF-8',
              Data: [
                `Your file ${name} ${outcome}.`,
                '',
                `Reason: ${message.reason ?? 'none given'}`,
                `Status: ${message.status}, at ${message.at}.`,
                `File id: ${message.fileId}`,
                ...(CONSOLE_URL
                  ? ['', `See it in the console: ${CONSOLE_URL}#file=${message.fileId}`]
                  : []),
                '',
                ...next,
              ].join('\n'),
            },
          },
        },
      },
    }),
  );
  metrics.addMetric(MetricName.EmailsSent, MetricUnit.Count, 1);
  logger.info('Owner emailed', { type: message.type });
  return 'sent';
};

const mailOnce = makeIdempotent(mail, { persistenceStore, config: onePerOutcome });

/** The function's entry: one email per file and outcome. */
export const mailOncePerOutcome = (event: FileEventEnvelope, context: Context) => {
  onePerOutcome.registerLambdaContext(context);
  return mailOnce(event);
};

export const handler = middy(mailOncePerOutcome)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
