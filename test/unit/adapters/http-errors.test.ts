import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { httpErrors } from '#shared/adapters/http.ts';
import { HttpError } from '#shared/domain/errors.ts';
import { logger } from '#shared/observability/powertools.ts';
import { captureLogs } from '../../support/log-capture.ts';

/** A route that fails with the given error, behind the middleware every route uses. */
const failingWith = (error: Error) =>
  middy(async (_event: APIGatewayProxyEvent) => {
    throw error;
  }).use(httpErrors());

const call = (error: Error) =>
  failingWith(error)({} as APIGatewayProxyEvent, {} as never) as Promise<{
    statusCode: number;
    body: string;
  }>;

describe('httpErrors', () => {
  it("logs a refusal's code and reason (the logger keeps `message` for the line's own text)", async () => {
    let response: { statusCode: number; body: string } | undefined;
    const lines = await captureLogs(logger, async () => {
      response = await call(new HttpError('NOT_FOUND', 'No file 123 of yours'));
    });
    expect(response?.statusCode).toBe(404);
    expect(JSON.parse(response?.body ?? '')).toEqual({
      error: { code: 'NOT_FOUND', message: 'No file 123 of yours' },
    });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Request refused',
        statusCode: 404,
        code: 'NOT_FOUND',
        reason: 'No file 123 of yours',
      }),
    ]);
  });

  it('keeps an unexpected failure in the log and out of the answer', async () => {
    let response: { statusCode: number; body: string } | undefined;
    const lines = await captureLogs(logger, async () => {
      response = await call(new Error('connection reset by peer at 10.0.0.7'));
    });
    expect(response?.statusCode).toBe(500);
    expect(response?.body).not.toContain('10.0.0.7');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'Request failed',
        error: expect.objectContaining({ message: 'connection reset by peer at 10.0.0.7' }),
      }),
    ]);
  });
});
