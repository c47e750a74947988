import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';

/** API Gateway closes a WebSocket connection after two hours at most; so does the TTL. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;
export const OWNER_INDEX = 'byOwner';

/**
 * The open WebSocket connections, one item per connection (`connectionId`), found by owner
 * through the `byOwner` index; items expire by TTL (`expiresAt`) if a $disconnect is missed.
 */
export class ConnectionStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async add(connectionId: string, ownerId: string, now = new Date()): Promise<void> {
    const seconds = Math.floor(now.getTime() / 1000);
    await this.dynamo.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          connectionId: { S: connectionId },
          ownerId: { S: ownerId },
          connectedAt: { N: String(seconds) },
          expiresAt: { N: String(seconds + CONNECTION_TTL_SECONDS) },
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
