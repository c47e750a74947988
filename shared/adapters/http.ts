import type middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { HttpError } from '../domain/errors.ts';
import { logger } from '../observability/powertools.ts';

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export const json = (
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(body),
});

export const noContent = (): APIGatewayProxyResult => ({
  statusCode: 204,
  headers: JSON_HEADERS,
  body: '',
});

/** The authenticated user, as the authorizer put them in the request context. */
export const ownerOf = (event: APIGatewayProxyEvent): string => {
  const authorizer = event.requestContext.authorizer as Record<string, unknown> | null | undefined;
  const owner = authorizer?.ownerId ?? authorizer?.principalId;
  if (typeof owner !== 'string' || owner === '') {
    throw new HttpError('UNAUTHORIZED', 'The request carries no authenticated user');
  }
  return owner;
};

/** Parses a JSON body with a size limit; every way it can go wrong is a 4xx. */
export const parseJsonBody = (event: APIGatewayProxyEvent, maxBytes: number): unknown => {
  if (event.body === null || event.body === '')
    throw new HttpError('BAD_REQUEST', 'A JSON body is required');
  const text = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64').toString('utf8')
    : event.body;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new HttpError('PAYLOAD_TOO_LARGE', `The body is over ${maxBytes} bytes`);
  }
  const type = Object.entries(event.headers ?? {}).find(
    ([k]) => k.toLowerCase() === 'content-type',
  )?.[1];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `The body must be application/json, not ${type}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError('BAD_REQUEST', `The body is not valid JSON: ${(error as Error).message}`);
  }
};

/**
 * Turns an HttpError into its `{error: {code, message}}` response and anything else into a 500
 * whose details stay in the log, never in the response.
 */
export const httpErrors = (): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  onError: async function httpErrorsOnError(request) {
    const { error } = request;
    if (error instanceof HttpError && error.expose) {
      logger.info('Request refused', { code: error.code, message: error.message });
      request.response = json(
        error.statusCode,
        { error: { code: error.code, message: error.message } },
        error.headers,
      );
      return;
    }
    logger.error('Request failed', { error });
    request.response = json(500, {
      error: { code: 'INTERNAL', message: 'Something went wrong on our side; it has been logged.' },
    });
  },
});
