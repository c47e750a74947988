import type middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { HttpError } from '../domain/errors.ts';
import { logger } from '../observability/powertools.ts';
import { listEnv } from './env.ts';

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

/**
 * The authenticated user, as the authorizer put them in the request context. A token that only
 * expired reaches here with no user and the time it expired (functions/authorizer.ts): it is
 * the 401 that says so.
 */
export const ownerOf = (event: APIGatewayProxyEvent): string => {
  const authorizer = event.requestContext.authorizer as Record<string, unknown> | null | undefined;
  const expiredAt = authorizer?.tokenExpiredAt;
  if (typeof expiredAt === 'string') {
    throw new HttpError(
      'UNAUTHORIZED',
      `The token expired${expiredAt === 'unknown' ? '' : ` at ${expiredAt}`}: sign in again, or renew it with the refresh token`,
    );
  }
  const owner = authorizer?.ownerId ?? authorizer?.principalId;
  if (typeof owner !== 'string' || owner === '') {
    throw new HttpError('UNAUTHORIZED', 'The request carries no authenticated user');
  }
  return owner;
};

/**
 * The query string of a route that takes these parameters (and no others), each at most once:
 * an unknown parameter, or one given twice (`?status=A&status=B`, which API Gateway would
 * otherwise reduce to its last value silently), is a 400 that names it.
 */
export const queryParameters = (
  event: APIGatewayProxyEvent,
  allowed: readonly string[],
): Record<string, string> => {
  const route = `${event.httpMethod} ${event.resource}`;
  const multi = event.multiValueQueryStringParameters ?? {};
  const single = event.queryStringParameters ?? {};
  const names = new Set([...Object.keys(multi), ...Object.keys(single)]);
  const result: Record<string, string> = {};
  for (const name of names) {
    if (!allowed.includes(name)) {
      throw new HttpError(
        'BAD_REQUEST',
        allowed.length === 0
          ? `${name}: ${route} takes no query parameters`
          : `${name}: is not a parameter of ${route} (it takes ${allowed.join(', ')})`,
      );
    }
    const values = multi[name] ?? [];
    if (values.length > 1) {
      throw new HttpError('BAD_REQUEST', `${name}: given ${values.length} times; give it once`);
    }
    const value = values[0] ?? single[name];
    if (value !== undefined) result[name] = value;
  }
  return result;
};

/**
 * Checks every request's query string against its route's parameters (`queryParameters`)
 * before the handler runs: `routes` maps `METHOD /resource` to the names the route takes.
 */
export const strictQuery = (
  routes: Readonly<Record<string, readonly string[]>>,
): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  before: async function strictQueryBefore(request) {
    const { event } = request;
    queryParameters(event, routes[`${event.httpMethod} ${event.resource}`] ?? []);
  },
});

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
      // `message` is the logger's own key (the line's text): the refusal's goes in `reason`.
      const facts = { statusCode: error.statusCode, code: error.code, reason: error.message };
      if (error.statusCode >= 500)
        logger.warn('Request not served', { ...facts, error: error.cause });
      else logger.info('Request refused', facts);
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

/** Response headers a browser script may read besides the safe ones. */
const EXPOSED_HEADERS = 'Retry-After, X-Amzn-RequestId';

/**
 * The CORS headers for a request's `Origin`: the origin itself when the stage allows it (or `*`
 * when the stage allows any), nothing at all for any other origin, so the browser keeps the
 * response from the page. `Vary: Origin` keeps caches from serving one origin's answer to another.
 */
export const corsHeadersFor = (
  origin: string | undefined,
  allowed: readonly string[],
): Record<string, string> => {
  if (allowed.includes('*')) {
    return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS };
  }
  if (origin === undefined || !allowed.includes(origin)) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSED_HEADERS,
    vary: 'Origin',
  };
};

/**
 * Adds the CORS headers to every response of the handler, errors and 500s included (API
 * Gateway's Lambda proxy integration adds them only to preflights and its own responses). Used
 * before httpErrors in the chain's `use` order, so its `onError` runs after httpErrors made the
 * response. The allowed origins are the stage's (`CORS_ORIGINS`, read when the chain is built).
 */
export const cors = (
  allowed: readonly string[] = listEnv('CORS_ORIGINS', []),
): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => {
  const addHeaders = (request: middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult>) => {
    if (!request.response) return;
    const headers = request.event.headers ?? {};
    const origin = Object.entries(headers).find(([k]) => k.toLowerCase() === 'origin')?.[1];
    request.response = {
      ...request.response,
      headers: { ...request.response.headers, ...corsHeadersFor(origin ?? undefined, allowed) },
    };
  };
  return {
    after: async function corsAfter(request) {
      addHeaders(request);
    },
    onError: async function corsOnError(request) {
      addHeaders(request);
    },
  };
};
