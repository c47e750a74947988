import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';

export type PushResult = 'sent' | 'gone';

const isGone = (error: unknown): boolean =>
  error instanceof GoneException ||
  (error as Error).name === 'GoneException' ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410;

/**
 * Posts to one WebSocket connection through API Gateway's management API. A connection that is
 * gone (410) is reported, not thrown: its owner closed it. Anything else is thrown, after the
 * SDK's own retries.
 */
export const pushTo = async (
  client: ApiGatewayManagementApiClient,
  connectionId: string,
  message: unknown,
): Promise<PushResult> => {
  try {
    await client.send(
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: new TextEncoder().encode(JSON.stringify(message)),
      }),
    );
    return 'sent';
  } catch (error) {
    if (isGone(error)) return 'gone';
    throw error;
  }
};

/** Closes one WebSocket connection; one already gone (410) is closed as well. */
export const closeConnection = async (
  client: ApiGatewayManagementApiClient,
  connectionId: string,
): Promise<void> => {
  try {
    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (error) {
    if (!isGone(error)) throw error;
  }
};
