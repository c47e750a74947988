import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_NOTIFICATION_BYTES } from '#shared/domain/notification.ts';
import { lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

stubFunctionEnv({
  CONNECTIONS_TABLE_NAME: 'connections',
  WEBSOCKET_MANAGEMENT_URL: 'https://ws.example/dev',
});
const dynamo = mockClient(DynamoDBClient);
const management = mockClient(ApiGatewayManagementApiClient);
const { handler } = await import('../../../functions/notifier.ts');
const connections = (await import('../../../functions/ws-connections.ts')).handler;

/** A tiny connections table: what the handlers put, delete and query. */
const table = new Map<string, string>();

const fileEvent = (
  ownerId: string,
  type = 'file.processed',
  extra: Record<string, unknown> = {},
) => ({
  version: '0',
  id: `event-${Math.random()}`,
  'detail-type': type,
  source: 'syncflow.files',
  account: '123456789012',
  time: '2026-11-29T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    fileId: 'f1',
    ownerId,
    status: type === 'file.processed' ? 'PROCESSED' : 'REJECTED',
    size: 10,
    contentType: 'image/jpeg',
    metadata: { image: { exif: { note: 'x'.repeat(100_000) } } },
    derivatives: [],
    ...extra,
  },
});

const posted = () =>
  management.commandCalls(PostToConnectionCommand).map((call) => ({
    to: call.args[0].input.ConnectionId,
    message: JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)),
  }));

const connect = (connectionId: string, ownerId: string) =>
  connections(
    {
      requestContext: { routeKey: '$connect', connectionId, authorizer: { ownerId } },
    } as never,
    lambdaContext('ws-connections'),
  );

describe('notifier', () => {
  beforeEach(() => {
    table.clear();
    dynamo.reset();
    management.reset();
    dynamo.on(PutItemCommand).callsFake((input) => {
      table.set(input.Item.connectionId.S, input.Item.ownerId.S);
      return {};
    });
    dynamo.on(DeleteItemCommand).callsFake((input) => {
      table.delete(input.Key.connectionId.S);
      return {};
    });
    dynamo.on(QueryCommand).callsFake((input) => ({
      Items: [...table]
        .filter(([, owner]) => owner === input.ExpressionAttributeValues[':owner'].S)
        .map(([connectionId]) => ({ connectionId: { S: connectionId } })),
    }));
    management.on(PostToConnectionCommand).resolves({});
  });

  it("pushes an end state to every connection of the file's owner and to nobody else", async () => {
    await connect('a1', 'alice');
    await connect('a2', 'alice');
    await connect('b1', 'bob');
    const result = await handler(fileEvent('alice'), lambdaContext('notifier'));
    expect(result).toEqual({ connections: 2, sent: 2, gone: 0 });
    expect(
      posted()
        .map((p) => p.to)
        .sort(),
    ).toEqual(['a1', 'a2']);
    const { message } = posted()[0] ?? {};
    expect(message).toEqual({
      type: 'file.processed',
      eventId: expect.stringMatching(/^event-/),
      fileId: 'f1',
      status: 'PROCESSED',
      size: 10,
      contentType: 'image/jpeg',
      at: '2026-11-29T10:00:00Z',
    });
  });

  it('keeps every message inside one frame, however large the event', async () => {
    await connect('a1', 'alice');
    await handler(
      fileEvent('alice', 'file.rejected', { reason: 'why '.repeat(50_000) }),
      lambdaContext('notifier'),
    );
    const [call] = management.commandCalls(PostToConnectionCommand);
    const bytes = (call?.args[0].input.Data as Uint8Array | undefined)?.length ?? Infinity;
    expect(bytes).toBeLessThan(MAX_NOTIFICATION_BYTES);
    expect(posted()[0]?.message.reason).toMatch(/…$/);
  });

  it('forgets a connection API Gateway reports gone (410) and still reaches the others', async () => {
    await connect('a1', 'alice');
    await connect('a2', 'alice');
    management
      .on(PostToConnectionCommand, { ConnectionId: 'a1' })
      .rejects(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } }));
    const result = await handler(fileEvent('alice'), lambdaContext('notifier'));
    expect(result).toEqual({ connections: 2, sent: 1, gone: 1 });
    expect([...table.keys()]).toEqual(['a2']);
  });

  it('tries every connection, then fails the invocation so Lambda retries it', async () => {
    await connect('a1', 'alice');
    await connect('a2', 'alice');
    management
      .on(PostToConnectionCommand, { ConnectionId: 'a1' })
      .rejects(Object.assign(new Error('throttled'), { $metadata: { httpStatusCode: 429 } }));
    await expect(handler(fileEvent('alice'), lambdaContext('notifier'))).rejects.toThrow(
      /1 of 2 connections could not be reached/,
    );
    expect(
      posted()
        .map((p) => p.to)
        .sort(),
    ).toEqual(['a1', 'a2']);
    expect([...table.keys()].sort()).toEqual(['a1', 'a2']);
  });

  it('drops an event that is not one of ours instead of retrying it forever', async () => {
    const result = await handler(
      { ...fileEvent('alice'), 'detail-type': 'file.deleted' },
      lambdaContext('notifier'),
    );
    expect(result).toEqual({ connections: 0, sent: 0, gone: 0 });
    expect(management.commandCalls(PostToConnectionCommand)).toHaveLength(0);
  });
});

describe('WebSocket connection handler', () => {
  const send = (routeKey: string, body?: string) =>
    connections(
      { requestContext: { routeKey, connectionId: 'c1' }, body } as never,
      lambdaContext('ws-connections'),
    );

  it('refuses a $connect that no authorizer vouched for', async () => {
    expect((await send('$connect')).statusCode).toBe(401);
    expect(table.size).toBe(0);
  });

  it('answers a ping on the connection that sent it, and explains anything else', async () => {
    management.reset();
    management.on(PostToConnectionCommand).resolves({});
    await send('$default', '{"action":"ping"}');
    await send('$default', 'ping');
    await send('$default', '{"action":"subscribe"}');
    expect(posted().map((p) => [p.to, p.message.type])).toEqual([
      ['c1', 'pong'],
      ['c1', 'pong'],
      ['c1', 'error'],
    ]);
    expect(posted()[2]?.message.message).toMatch(/ping/);
  });
});
