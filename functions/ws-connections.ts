import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { dynamoDbClient, webSocketManagementClient } from '#shared/adapters/clients.ts';
import { ConnectionStore } from '#shared/adapters/connection-store.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { closeConnection, pushTo } from '#shared/adapters/websocket-push.ts';
import { logger, tracer } from '#shared/observability/powertools.ts';

const store = new ConnectionStore(dynamoDbClient(), requireEnv('CONNECTIONS_TABLE_NAME'));
requireEnv('WEBSOCKET_MANAGEMENT_URL');

type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { authorizer?: Record<string, unknown> | null };
};

const reply = (body: unknown, statusCode = 200): APIGatewayProxyResult => ({
  statusCode,
  body: JSON.stringify(body),
});

/** What a `$default` message is answered with: `ping` gets `{"type":"pong"}`. */
const answerTo = (body: string | undefined): Record<string, unknown> => {
  let action: unknown = body?.trim();
  try {
    const parsed = JSON.parse(body ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null)
      action = (parsed as { action?: unknown }).action;
  } catch {
    // not JSON: the text itself is the action
  }
  if (action === 'ping') return { type: 'pong', at: new Date().toISOString() };
  return {
    type: 'error',
    message: 'Unknown message: send {"action":"ping"}; file events come by themselves',
  };
};

/**
 * `$connect` records the connection under its owner (the authorizer verified the token),
 * `$disconnect` forgets it, `$default` answers a ping (and says what it accepts otherwise).
 */
export const onWebSocket = async (event: WebSocketEvent): Promise<APIGatewayProxyResult> => {
  const { routeKey, connectionId } = event.requestContext;
  logger.appendKeys({ connectionId, routeKey });
  switch (routeKey) {
    case '$connect': {
      const authorizer = event.requestContext.authorizer ?? {};
      const ownerId = authorizer.ownerId ?? authorizer.principalId;
      // API Gateway hands context values over as strings.
      const tokenExpiresAt = Number(authorizer.tokenExpiresAt);
      if (typeof ownerId !== 'string' || ownerId === '' || !Number.isFinite(tokenExpiresAt)) {
        logger.warn('Connection without an authorized user refused');
        return reply({ message: 'Unauthorized' }, 401);
      }
      await store.add(connectionId, ownerId, tokenExpiresAt);
      logger.info('Connected', { ownerId });
      return { statusCode: 200, body: '' };
    }
    case '$disconnect':
      await store.remove(connectionId);
      logger.info('Disconnected');
      return { statusCode: 200, body: '' };
    default: {
      // Answered through the management API rather than a route response, which works the
      // same in AWS and in the emulator (whose CloudFormation has no RouteResponse).
      const answer = answerTo(event.body);
      await pushTo(webSocketManagementClient(), connectionId, answer);
      return { statusCode: 200, body: '' };
    }
  }
};

/**
 * On its schedule (infra/constructs/realtime.ts): closes the connections whose token expired,
 * so none outlives the token that opened it. The notifier already skips them.
 */
export const closeExpired = async (): Promise<{ closed: number }> => {
  const client = webSocketManagementClient();
  let closed = 0;
  for (const connectionId of await store.expired()) {
    await closeConnection(client, connectionId);
    await store.remove(connectionId);
    closed++;
  }
  if (closed > 0) logger.info('Expired connections closed', { closed });
  return { closed };
};

const isScheduled = (event: unknown): boolean =>
  typeof event === 'object' &&
  event !== null &&
  (event as { 'detail-type'?: unknown })['detail-type'] === 'Scheduled Event';

/** A WebSocket route, or the schedule that closes expired connections. */
export const route = (
  event: WebSocketEvent | { 'detail-type': string },
): Promise<APIGatewayProxyResult | { closed: number }> =>
  isScheduled(event) ? closeExpired() : onWebSocket(event as WebSocketEvent);

export const handler = middy(route)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
