import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_NOTIFICATION_BYTES } from '#shared/domain/notification.ts';
import { lambdaContext, sqsRecord } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

stubFunctionEnv({
  CONNECTIONS_TABLE_NAME: 'connections',
  WEBSOCKET_MANAGEMENT_URL: 'https://ws.example/dev',
});
const dynamo = mockClient(DynamoDBClient);
const management = mockClient(ApiGatewayManagementApiClient);
const { handler } = await import('../../../functions/notifier.ts');
const connections = (await import('../../../functions/ws-connections.ts')).handler;

/** A tiny connections table: what the handlers put, delete, query and scan. */
const table = new Map<string, { ownerId: string; expiresAt: number }>();
const nowSeconds = () => Math.floor(Date.now() / 1000);

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

/** What the notifier's queue hands it: one record per bus event. */
const deliver = (...events: unknown[]) =>
  handler({ Records: events.map((event) => sqsRecord(event)) }, lambdaContext('notifier'));

const posted = () =>
  management.commandCalls(PostToConnectionCommand).map((call) => ({
    to: call.args[0].input.ConnectionId,
    message: JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)),
  }));

/** A `$connect` as API Gateway hands it over: the authorizer's context values as strings. */
const connect = (connectionId: string, ownerId: string, tokenExpiresAt = nowSeconds() + 3600) =>
  connections(
    {
      requestContext: {
        routeKey: '$connect',
        connectionId,
        authorizer: { ownerId, tokenExpiresAt: String(tokenExpiresAt) },
      },
    } as never,
    lambdaContext('ws-connections'),
  );

describe('notifier', () => {
  beforeEach(() => {
    table.clear();
    dynamo.reset();
    management.reset();
    dynamo.on(PutItemCommand).callsFake((input) => {
      table.set(input.Item.connectionId.S, {
        ownerId: input.Item.ownerId.S,
        expiresAt: Number(input.Item.expiresAt.N),
      });
      return {};
    });
    dynamo.on(DeleteItemCommand).callsFake((input) => {
      table.delete(input.Key.connectionId.S);
      return {};
    });
    // As the store's filters say: live connections of one owner; expired ones of anybody.
    dynamo.on(QueryCommand).callsFake((input) => ({
      Items: [...table]
        .filter(
          ([, item]) =>
            item.ownerId === input.ExpressionAttributeValues[':owner'].S &&
            item.expiresAt > Number(input.ExpressionAttributeValues[':now'].N),
        )
        .map(([connectionId]) => ({ connectionId: { S: connectionId } })),
    }));
    dynamo.on(ScanCommand).callsFake((input) => ({
      Items: [...table]
        .filter(([, item]) => item.expiresAt <= Number(input.ExpressionAttributeValues[':now'].N))
        .map(([connectionId]) => ({ connectionId: { S: connectionId } })),
    }));
    management.on(PostToConnectionCommand).resolves({});
  });

  it("pushes an end state to every connection of the file's owner and to nobody else", async () => {
    await connect('a1', 'alice');
    await connect('a2', 'alice');
    await connect('b1', 'bob');
    expect(await deliver(fileEvent('alice'))).toEqual({ batchItemFailures: [] });
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

  it("keeps a connection no longer than its token, nor than API Gateway's two hours", async () => {
    const soon = nowSeconds() + 600;
    await connect('short', 'alice', soon);
    await connect('long', 'alice', nowSeconds() + 10 * 3600);
    expect(table.get('short')?.expiresAt).toBe(soon);
    expect(table.get('long')?.expiresAt).toBeLessThanOrEqual(nowSeconds() + 2 * 3600);
  });

  it('pushes nothing once the token expired, and closes such connections on its schedule', async () => {
    await connect('stale', 'alice', nowSeconds() - 1);
    await connect('live', 'alice');
    management.on(DeleteConnectionCommand).resolves({});
    await deliver(fileEvent('alice'));
    expect(posted().map((p) => p.to)).toEqual(['live']);

    const closed = await connections(
      { 'detail-type': 'Scheduled Event', source: 'aws.events' } as never,
      lambdaContext('ws-connections'),
    );
    expect(closed).toEqual({ closed: 1 });
    expect(
      management.commandCalls(DeleteConnectionCommand).map((c) => c.args[0].input.ConnectionId),
    ).toEqual(['stale']);
    expect([...table.keys()]).toEqual(['live']);
  });

  it('keeps every message inside one frame, however large the event', async () => {
    await connect('a1', 'alice');
    await deliver(fileEvent('alice', 'file.rejected', { reason: 'why '.repeat(50_000) }));
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
    expect(await deliver(fileEvent('alice'))).toEqual({ batchItemFailures: [] });
    expect(
      posted()
        .map((p) => p.to)
        .sort(),
    ).toEqual(['a1', 'a2']);
    expect([...table.keys()]).toEqual(['a2']);
  });

  it("tries every connection, then reports that event's message failed, and only that one", async () => {
    await connect('a1', 'alice');
    await connect('a2', 'alice');
    await connect('b1', 'bob');
    management
      .on(PostToConnectionCommand, { ConnectionId: 'a1' })
      .rejects(Object.assign(new Error('throttled'), { $metadata: { httpStatusCode: 429 } }));
    const records = [sqsRecord(fileEvent('alice')), sqsRecord(fileEvent('bob'))];
    const response = await handler({ Records: records }, lambdaContext('notifier'));
    // Alice's event is retried by the queue (then parked in the DLQ); Bob's is done.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[0]?.messageId }]);
    expect(
      posted()
        .map((p) => p.to)
        .sort(),
    ).toEqual(['a1', 'a2', 'b1']);
    expect([...table.keys()].sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('drops an event that is not one of ours, or no event at all, instead of retrying it forever', async () => {
    const response = await deliver(
      { ...fileEvent('alice'), 'detail-type': 'file.deleted' },
      'not even JSON',
    );
    expect(response).toEqual({ batchItemFailures: [] });
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
    expect(((await send('$connect')) as { statusCode: number }).statusCode).toBe(401);
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
