import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpErrors, json, ownerOf } from '#shared/adapters/http.ts';
import { logger } from '#shared/observability/powertools.ts';
import { captureLogs } from '../../support/log-capture.ts';

/**
 * The REST authorizer against a pool of its own: a key pair whose public half is served as the
 * pool's JWKS on 127.0.0.1, tokens signed with it (or, forged, with another key under the same
 * key id), and the function's answer carried on through `ownerOf` and `httpErrors` as API
 * Gateway carries it to the route.
 */
const POOL = 'us-east-1_TestPool';
const CLIENT = 'test-client';
const KID = 'test-key';
const USER = '1f0e8c2a-6d43-4c1b-9a57-3c2f0b1d9e44';

const pool = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });

let server: Server;
let issuer: string;
let authorize: typeof import('../../../functions/authorizer.ts').authorize;

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

const token = (key: KeyObject, claims: Record<string, unknown>): string => {
  const now = Math.floor(Date.now() / 1000);
  const head = `${base64url({ alg: 'RS256', kid: KID, typ: 'JWT' })}.${base64url({
    sub: USER,
    iss: issuer,
    token_use: 'access',
    client_id: CLIENT,
    iat: now - 60,
    exp: now + 3600,
    ...claims,
  })}`;
  const signature = createSign('RSA-SHA256').update(head).sign(key).toString('base64url');
  return `${head}.${signature}`;
};

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:000000000000:api123/local/GET/files';

const event = (authorizationToken: string): APIGatewayTokenAuthorizerEvent => ({
  type: 'TOKEN',
  authorizationToken,
  methodArn: METHOD_ARN,
});

/** A route as the functions write them: the user first, then the answer. */
const route = middy(async (request: APIGatewayProxyEvent) =>
  json(200, { ownerId: ownerOf(request) }),
).use(httpErrors());

/** What the route answers for a request the authorizer let through with this context. */
const routeAnswer = async (context: unknown) => {
  const response = await route(
    { requestContext: { authorizer: context } } as unknown as APIGatewayProxyEvent,
    {} as never,
  );
  return {
    statusCode: response.statusCode,
    body: JSON.parse(response.body) as { error?: { code: string; message: string } },
  };
};

beforeAll(async () => {
  server = createServer((_request, response) => {
    const jwk = { ...pool.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${origin}/${POOL}`;
  // The verifier is made from the environment when the module loads.
  vi.stubEnv('USER_POOL_ID', POOL);
  vi.stubEnv('USER_POOL_CLIENT_ID', CLIENT);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('TOKEN_ISSUER', issuer);
  vi.stubEnv('JWKS_URI', `${origin}/jwks.json`);
  ({ authorize } = await import('../../../functions/authorizer.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => server.close(resolve));
});

describe('the REST authorizer', () => {
  it('lets a valid token through as its user', async () => {
    const result = await authorize(event(`Bearer ${token(pool.privateKey, {})}`));
    expect(result.principalId).toBe(USER);
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:us-east-1:000000000000:api123/local/*/*',
      },
    ]);
    expect(await routeAnswer(result.context)).toEqual({ statusCode: 200, body: { ownerId: USER } });
  });

  it('answers an expired token of the pool with a 401 that says when it expired', async () => {
    const exp = Math.floor(Date.now() / 1000) - 120;
    const expired = token(pool.privateKey, { iat: exp - 3600, exp });
    const expiredAt = new Date(exp * 1000).toISOString();
    let result: Awaited<ReturnType<typeof authorize>> | undefined;
    const lines = await captureLogs(logger, async () => {
      result = await authorize(event(`Bearer ${expired}`));
    });
    expect(lines).toContainEqual(expect.objectContaining({ message: 'Token expired', expiredAt }));
    // No user reaches the route: only the time it expired.
    expect(result?.context).toEqual({ tokenExpiredAt: expiredAt });
    const answer = await routeAnswer(result?.context);
    expect(answer).toEqual({
      statusCode: 401,
      body: {
        error: {
          code: 'UNAUTHORIZED',
          message: `The token expired at ${expiredAt}: sign in again, or renew it with the refresh token`,
        },
      },
    });
  });

  it('refuses a forged token, expired or not, without calling it expired', async () => {
    const exp = Math.floor(Date.now() / 1000) - 120;
    for (const forged of [
      token(forger.privateKey, {}),
      token(forger.privateKey, { iat: exp - 3600, exp }),
    ]) {
      const lines = await captureLogs(logger, () =>
        expect(authorize(event(`Bearer ${forged}`))).rejects.toThrow(/^Unauthorized$/),
      );
      expect(lines).toContainEqual(expect.objectContaining({ message: 'Token refused' }));
      expect(lines.some((line) => line.message === 'Token expired')).toBe(false);
    }
  });

  it('refuses a token of the pool for another client, or with no token at all', async () => {
    await expect(
      authorize(event(`Bearer ${token(pool.privateKey, { client_id: 'another-client' })}`)),
    ).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize(event(''))).rejects.toThrow(/^Unauthorized$/);
  });
});
