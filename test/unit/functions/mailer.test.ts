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
import { lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

stubFunctionEnv({
  NOTIFICATION_SENDER: 'notifications@example.com',
  USER_POOL_ID: 'pool',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
});
const cognito = mockClient(CognitoIdentityProviderClient);
const ses = mockClient(SESv2Client);
const dynamo = mockClient(DynamoDBClient);
const { handler } = await import('../../../functions/mailer.ts');

const event = (type: string, ownerId = '6f1c2a52-6c0e-4c47-9a57-1d1e5b1f3d0a') => ({
  version: '0',
  id: 'e1',
  'detail-type': type,
  source: 'syncflow.files',
  account: '1',
  time: '2026-11-29T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: { fileId: 'f1', ownerId, status: 'REJECTED', size: 1, reason: 'The bytes are HTML' },
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
    expect(input?.Content?.Simple?.Body?.Text?.Data).toMatch(/The bytes are HTML/);
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
