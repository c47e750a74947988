import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { tokenVerifierFromEnv } from '#shared/adapters/token-verifier.ts';
import { isOwnerId } from '#shared/domain/keys.ts';
import { logger } from '#shared/observability/powertools.ts';

const verify = tokenVerifierFromEnv();

/** A browser cannot set headers on a WebSocket: the token comes as `?token=`, or a bearer header. */
const tokenOf = (event: APIGatewayRequestAuthorizerEvent): string => {
  const query = event.queryStringParameters?.token;
  if (query) return query;
  const header = Object.entries(event.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'authorization',
  )?.[1];
  return header?.replace(/^Bearer\s+/i, '') ?? '';
};

/**
 * The WebSocket API's `$connect` authorizer: verifies the user's Cognito token with the pool's
 * keys and hands the user id to the connection handler as `ownerId`. No token or a bad one
 * refuses the handshake (403).
 */
export const authorizeConnect = async (
  event: APIGatewayRequestAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> => {
  try {
    const user = await verify(tokenOf(event));
    if (!isOwnerId(user.userId)) throw new Error('Subject is not a usable owner id');
    return {
      principalId: user.userId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      // The connection ends when the token does (ws-connections.ts).
      context: { ownerId: user.userId, tokenExpiresAt: user.expiresAt },
    };
  } catch (error) {
    // A Deny (403) rather than a thrown "Unauthorized": the emulator answers a throwing
    // authorizer with a 500, AWS and the emulator both answer a Deny with a 403.
    logger.info('WebSocket token refused', { reason: (error as Error).message });
    return {
      principalId: 'anonymous',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }],
      },
    };
  }
};

export const handler = middy(authorizeConnect).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
