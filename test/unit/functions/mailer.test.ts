import {
  CognitoIdentityProviderClient,
  ListUsersCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { STUCK_REASONS } from '#shared/domain/lifecycle.ts';
import { reprocessMayHelp } from '#shared/domain/notification.ts';
import { lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

stubFunctionEnv({
  NOTIFICATION_SENDER: 'notifications@example.com',
  USER_POOL_ID: 'pool',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
  CONSOLE_URL: 'https://console.example.com/',
});
const cognito = mockClient(CognitoIdentityProviderClient);
const ses = mockClient(SESv2Client);
const dynamo = mockClient(DynamoDBClient);
const { handler } = await import('../../../functions/mailer.ts');

const event = (
  type: string,
  ownerId = '6f1c2a52-6c0e-4c47-9a57-1d1e5b1f3d0a',
  detail: Record<string, unknown> = {},
) => ({
  version: '0',
  id: 'e1',
  'detail-type': type,
  source: 'syncflow.files',
  account: '1',
  time: '2026-11-29T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    fileId: 'f1',
    ownerId,
    filename: 'holiday.jpg',
    status: 'REJECTED',
    size: 1,
    reason: 'The bytes are HTML',
    ...detail,
  },
});

describe('mailer', () => {
  beforeEach(() => {
    cognito.reset();
    ses.reset();
    dynamo.reset();
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});
    cognito.on(ListUsersCommand).resolves({
      Users: [{ Attributes: [{ Name: 'email', Value: 'alice@example.com' }] }],
    });
    ses.on(SendEmailCommand).resolves({ MessageId: 'm1' });
  });

  it('emails the owner, found by their id in the pool, why a file was rejected', async () => {
    expect(await handler(event('file.rejected'), lambdaContext('mailer'))).toBe('sent');
    expect(cognito.commandCalls(ListUsersCommand)[0]?.args[0].input).toMatchObject({
      UserPoolId: 'pool',
      Filter: 'sub = "6f1c2a52-6c0e-4c47-9a57-1d1e5b1f3d0a"',
    });
    const input = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(input?.FromEmailAddress).toBe('notifications@example.com');
    expect(input?.Destination?.ToAddresses).toEqual(['alice@example.com']);
    const text = input?.Content?.Simple?.Body?.Text?.Data ?? '';
    expect(text).toMatch(/The bytes are HTML/);
    // The file by its name, a link to its view, and no reprocess for bytes that will not change.
    expect(input?.Content?.Simple?.Subject?.Data).toBe('SyncFlow: "holiday.jpg" was rejected');
    expect(text).toContain('See it in the console: https://console.example.com/#file=f1');
    expect(text).toMatch(/same answer/);
    expect(text).not.toMatch(/reprocess/i);
  });

  it('suggests reprocessing only a file that failed on our side', async () => {
    const sent = async (reason: string, id: string) => {
      ses.reset();
      ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
      await handler(
        { ...event('file.failed', undefined, { fileId: id, status: 'FAILED', reason }), id },
        lambdaContext('mailer'),
      );
      return (
        ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Simple?.Body?.Text?.Data ?? ''
      );
    };
    const transient = await sent(STUCK_REASONS.retriesSpent(5), 'f2');
    expect(transient).toMatch(/syncflow reprocess f2/);
    const broken = await sent('The image is truncated: it does not decode.', 'f3');
    expect(broken).toMatch(/file itself cannot be processed/);
    expect(broken).not.toMatch(/syncflow reprocess/);
  });

  it('sends nothing for a processed file, an owner without an address or a strange owner id', async () => {
    expect(await handler(event('file.processed'), lambdaContext('mailer'))).toBe('skipped');
    expect(await handler(event('file.failed', 'x" or sub ^= "'), lambdaContext('mailer'))).toBe(
      'skipped',
    );
    cognito.on(ListUsersCommand).resolves({ Users: [] });
    expect(await handler(event('file.failed'), lambdaContext('mailer'))).toBe('skipped');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('fails the invocation when SES refuses, so Lambda retries and then parks the event', async () => {
    ses.on(SendEmailCommand).rejects(new Error('Throttling'));
    await expect(handler(event('file.failed'), lambdaContext('mailer'))).rejects.toThrow(
      /Throttling/,
    );
  });

  it('emails once per file and outcome, however often the event arrives', async () => {
    expect(await handler(event('file.rejected'), lambdaContext('mailer'))).toBe('sent');
    const [put] = dynamo.commandCalls(PutItemCommand);
    const key = put?.args[0].input.Item?.id?.S;
    // What Powertools wrote when the email had gone: the record a second delivery meets.
    const [completed] = dynamo.commandCalls(UpdateItemCommand);
    const stored = completed?.args[0].input.ExpressionAttributeValues?.[':response_data'];
    expect(stored).toBeDefined();
    // The second delivery (a retry, or the same outcome after a reprocess) finds it recorded.
    dynamo.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'exists',
        $metadata: {},
        Item: {
          id: { S: key ?? '' },
          status: { S: 'COMPLETED' },
          expiration: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          data: stored ?? { S: '' },
        },
      }),
    );
    expect(await handler({ ...event('file.rejected'), id: 'e2' }, lambdaContext('mailer'))).toBe(
      'sent',
    );
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    // Keyed by the file and the outcome, not by the event's id.
    dynamo.on(PutItemCommand).resolves({});
    await handler(event('file.failed'), lambdaContext('mailer'));
    const keys = dynamo.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item?.id?.S);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[0]);
  });
});

describe('whether reprocessing can help', () => {
  it('says yes for every reason the pipeline gives for failing on its side, no otherwise', () => {
    for (const reason of [
      STUCK_REASONS.cutShort(3),
      STUCK_REASONS.abandoned,
      STUCK_REASONS.neverProcessed,
      STUCK_REASONS.retriesSpent(5),
    ]) {
      expect(reprocessMayHelp('FAILED', reason), reason).toBe(true);
      expect(reprocessMayHelp('REJECTED', reason)).toBe(false);
    }
    expect(reprocessMayHelp('FAILED', 'The file is empty (0 bytes).')).toBe(false);
    expect(reprocessMayHelp('FAILED', undefined)).toBe(false);
  });
});
