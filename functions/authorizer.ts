import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { TokenExpiredError, tokenVerifierFromEnv } from '#shared/adapters/token-verifier.ts';
import { isOwnerId } from '#shared/domain/keys.ts';
import { logger } from '#shared/observability/powertools.ts';

const verify = tokenVerifierFromEnv();

/** The whole API of this stage, so one cached decision covers every route of the user. */
const apiWildcard = (methodArn: string): string => {
  const [arn, stage] = methodArn.split('/');
  return `${arn}/${stage}/*/*`;
};

/**
 * REST API token authorizer: verifies the user's Cognito token itself, which works the same in
 * AWS and in the emulator (whose REST data plane ignores Cognito authorizers), and hands the
 * user id to the functions as `ownerId`. Any doubt is a 401.
 *
 * A token of the pool that only expired is let through to the function with no user and the
 * time it expired (`tokenExpiredAt`): the function answers 401 saying so (shared/adapters/http.ts
 * `ownerOf`, which every route calls first). A thrown "Unauthorized" cannot carry a reason, and
 * a Deny's reason (`$context.authorizer.*` in a gateway response) is rendered by AWS but not by
 * the emulator: this is the one way that says "expired" in both.
 */
export const authorize = async (
  event: APIGatewayTokenAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> => {
  const token = event.authorizationToken?.replace(/^Bearer\s+/i, '') ?? '';
  try {
    const user = await verify(token);
    if (!isOwnerId(user.userId)) throw new Error('Subject is not a usable owner id');
    return {
      principalId: user.userId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: apiWildcard(event.methodArn) },
        ],
      },
      context: { ownerId: user.userId },
    };
  } catch (error) {
    if (error instanceof TokenExpiredError) {
      logger.info('Token expired', { expiredAt: error.expiredAt });
      return {
        // Not an owner id: `ownerOf` refuses the request before anything reads it.
        principalId: 'expired-token',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 'execute-api:Invoke',
              Effect: 'Allow',
              Resource: apiWildcard(event.methodArn),
            },
          ],
        },
        context: { tokenExpiredAt: error.expiredAt ?? 'unknown' },
      };
    }
    logger.info('Token refused', { reason: (error as Error).message });
    throw new Error('Unauthorized');
  }
};

export const handler = middy(authorize).use(injectLambdaContext(logger, { resetKeys: true }));
