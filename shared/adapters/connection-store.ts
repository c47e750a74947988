import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';

/** API Gateway closes a WebSocket connection after two hours at most. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

import { OWNER_INDEX } from '../domain/contracts.ts';

export { OWNER_INDEX };

/**
 * The open WebSocket connections, one item per connection (`connectionId`), found by owner
 * through the `byOwner` index; items expire by TTL (`expiresAt`) if a $disconnect is missed.
 */
export class ConnectionStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records a connection until its token expires (or API Gateway's two hours, if sooner): no
   * event is pushed to it after that, and `expired` finds it to be closed.
   */
  async add(
    connectionId: string,
    ownerId: string,
    tokenExpiresAt: number,
    now = new Date(),
  ): Promise<void> {
    const seconds = Math.floor(now.getTime() / 1000);
    const expiresAt = Math.min(seconds + CONNECTION_TTL_SECONDS, tokenExpiresAt);
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          connectionId: { S: connectionId },
          ownerId: { S: ownerId },
          connectedAt: { N: String(seconds) },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );
  }

  async remove(connectionId: string): Promise<void> {
    await this.dynamo.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { connectionId: { S: connectionId } },
      }),
    );
  }

  /**
   * Connections whose token expired, to be closed. The table holds open connections only (a
   * few per user), so a scan is what a lookup by time costs; at most `limit` per call.
   */
  async expired(now = new Date(), limit = 500): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'expiresAt <= :now',
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(now.getTime() / 1000)) } },
          ProjectionExpression: 'connectionId',
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const id = item.connectionId?.S;
        if (id) ids.push(id);
      }
      start = page.LastEvaluatedKey;
    } while (start && ids.length < limit);
    return ids.slice(0, limit);
  }

  /** Every connection of one owner that has not expired. */
  async ofOwner(ownerId: string, now = new Date()): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, { S: string }> | undefined;
    do {
      const page = await this.dynamo.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: OWNER_INDEX,
          KeyConditionExpression: 'ownerId = :owner',
          FilterExpression: 'expiresAt > :now',
          ExpressionAttributeValues: {
            ':owner': { S: ownerId },
            ':now': { N: String(Math.floor(now.getTime() / 1000)) },
          },
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const id = item.connectionId?.S;
        if (id) ids.push(id);
      }
      start = page.LastEvaluatedKey as Record<string, { S: string }> | undefined;
    } while (start);
    return ids;
  }
}
