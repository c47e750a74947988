import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { cors, corsHeadersFor, httpErrors, json } from '#shared/adapters/http.ts';
import { HttpError } from '#shared/domain/errors.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';

const APP = 'https://app.example.com';

/** A handler chain the way the API functions build theirs. */
const chain = (handle: () => Promise<APIGatewayProxyResult>, allowed: string[]) =>
  middy<APIGatewayProxyEvent, APIGatewayProxyResult>(handle).use(cors(allowed)).use(httpErrors());

const call = (handler: ReturnType<typeof chain>, origin?: string) =>
  handler(
    apiEvent({ method: 'GET', path: '/files', headers: origin ? { Origin: origin } : {} }),
    lambdaContext('test'),
  );

describe('CORS on every response', () => {
  it('names an allowed origin on a success, a 4xx and a 500', async () => {
    const ok = chain(async () => json(200, { ok: true }), [APP]);
    const refused = chain(async () => {
      throw new HttpError('NOT_FOUND', 'nope');
    }, [APP]);
    const broken = chain(async () => {
      throw new Error('bug');
    }, [APP]);
    for (const [handler, status] of [
      [ok, 200],
      [refused, 404],
      [broken, 500],
    ] as const) {
      const response = await call(handler, APP);
      expect(response.statusCode).toBe(status);
      expect(response.headers).toMatchObject({
        'access-control-allow-origin': APP,
        vary: 'Origin',
        'content-type': 'application/json; charset=utf-8',
      });
      expect(response.headers?.['access-control-expose-headers']).toContain('Retry-After');
    }
  });

  it('gives another origin no CORS header, so its page cannot read the answer', async () => {
    const response = await call(
      chain(async () => json(200, {}), [APP]),
      'https://evil.example',
    );
    expect(response.headers?.['access-control-allow-origin']).toBeUndefined();
    expect(response.headers?.vary).toBe('Origin');
  });

  it('gives no CORS header without an Origin, and when the stage allows none', async () => {
    expect(corsHeadersFor(undefined, [APP])).toEqual({ vary: 'Origin' });
    expect(corsHeadersFor(APP, [])).toEqual({ vary: 'Origin' });
  });

  it('answers any origin with * on a stage that allows any', () => {
    expect(corsHeadersFor('http://127.0.0.1:9', ['*'])['access-control-allow-origin']).toBe('*');
  });
});
