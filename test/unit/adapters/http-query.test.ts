import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ownerOf, queryParameters } from '#shared/adapters/http.ts';

const event = (
  resource: string,
  multi: Record<string, string[]> | null,
  authorizer: Record<string, unknown> = { ownerId: 'user-1' },
): APIGatewayProxyEvent =>
  ({
    httpMethod: 'GET',
    resource,
    queryStringParameters: multi
      ? Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v.at(-1) ?? '']))
      : null,
    multiValueQueryStringParameters: multi,
    requestContext: { authorizer },
  }) as unknown as APIGatewayProxyEvent;

describe('query parameters', () => {
  it('takes each known parameter once', () => {
    expect(
      queryParameters(event('/files', { status: ['FAILED'], limit: ['5'] }), ['status', 'limit']),
    ).toEqual({
      status: 'FAILED',
      limit: '5',
    });
    expect(queryParameters(event('/files/{fileId}', null), [])).toEqual({});
  });

  it('refuses a repeated parameter, naming it (API Gateway would keep the last silently)', () => {
    expect(() =>
      queryParameters(event('/files', { status: ['FAILED', 'PROCESSED'] }), ['status']),
    ).toThrow(/^status: given 2 times; give it once$/);
  });

  it('refuses a parameter the route does not take, on every route', () => {
    expect(() => queryParameters(event('/files/{fileId}', { debug: ['1'] }), [])).toThrow(
      'debug: GET /files/{fileId} takes no query parameters',
    );
    expect(() =>
      queryParameters(event('/uploads/{fileId}/parts', { uploadid: ['x'] }), ['uploadId']),
    ).toThrow(
      /uploadid: is not a parameter of GET \/uploads\/\{fileId\}\/parts \(it takes uploadId\)/,
    );
  });
});

describe('the caller', () => {
  it("is the authorizer's user; an expired token is a 401 that says it expired", () => {
    expect(ownerOf(event('/files', null))).toBe('user-1');
    const expired = event('/files', null, {
      principalId: 'expired-token',
      tokenExpiredAt: '2026-01-01T10:00:00.000Z',
    });
    expect(() => ownerOf(expired)).toThrow(
      'The token expired at 2026-01-01T10:00:00.000Z: sign in again, or renew it with the refresh token',
    );
    try {
      ownerOf(expired);
    } catch (error) {
      expect(error).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    }
  });
});
