import {
  type ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';

export type PushResult = 'sent' | 'gone';

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
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (
      error instanceof GoneException ||
      (error as Error).name === 'GoneException' ||
      status === 410
    ) {
      return 'gone';
    }
    throw error;
  }
};
