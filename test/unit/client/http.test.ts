import { describe, expect, it } from 'vitest';
import { ApiError, backoffDelay, SyncFlowApi } from '../../../client/src/index.ts';
import { parseRetryAfter } from '../../../client/src/retry.ts';

const API = 'https://api.test/stage/';

/** A fetch that answers from a script, one response per call, and records the calls. */
const scripted = (responses: (() => Response)[]) => {
  const calls: { url: string; init?: RequestInit }[] = [];
  const fetch = async (url: string, init?: RequestInit) => {
    calls.push({ url, ...(init && { init }) });
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    return next();
  };
  return { fetch, calls };
};

const api = (fetch: (url: string, init?: RequestInit) => Promise<Response>) =>
  new SyncFlowApi({
    baseUrl: API,
    token: async () => 'tok',
    fetch,
    retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });

const error =
  (status: number, code: string, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify({ error: { code, message: `${code} here` } }), {
      status,
      headers: { 'x-amzn-requestid': 'req-1', ...headers },
    });

describe('SyncFlowApi requests', () => {
  it('sends the token and query, and types the answer', async () => {
    const { fetch, calls } = scripted([
      () => new Response(JSON.stringify({ items: [], nextCursor: null }), { status: 200 }),
    ]);
    const page = await api(fetch).listFiles({ status: 'PROCESSED', q: 'cat', limit: 5 });
    expect(page.nextCursor).toBeNull();
    expect(calls[0]?.url).toBe(`${API}files?status=PROCESSED&q=cat&limit=5`);
    expect((calls[0]?.init?.headers ?? {}) as Record<string, string>).toMatchObject({
      authorization: 'Bearer tok',
    });
  });

  it('retries a GET on 503 and 429, then succeeds', async () => {
    const { fetch, calls } = scripted([
      error(503, 'INTERNAL'),
      error(429, 'TOO_MANY_REQUESTS', { 'retry-after': '0' }),
      () => new Response('{"fileId":"a"}', { status: 200 }),
    ]);
    await expect(api(fetch).getFile('a')).resolves.toMatchObject({ fileId: 'a' });
    expect(calls).toHaveLength(3);
  });

  it('never repeats POST /uploads (a repeat would record a second file)', async () => {
    const { fetch, calls } = scripted([error(503, 'INTERNAL'), error(503, 'INTERNAL')]);
    await expect(
      api(fetch).createUpload({ filename: 'a', contentType: 'text/plain', size: 1 }),
    ).rejects.toBeInstanceOf(ApiError);
    expect(calls).toHaveLength(1);
  });

  it('sends POST /uploads again after a 429, waiting as Retry-After asks (nothing was recorded)', async () => {
    const { fetch, calls } = scripted([
      error(429, 'TOO_MANY_REQUESTS', { 'retry-after': '0' }),
      () => new Response('{"fileId":"f","upload":{"method":"POST"}}', { status: 201 }),
    ]);
    await expect(
      api(fetch).createUpload({ filename: 'a', contentType: 'text/plain', size: 1 }),
    ).resolves.toMatchObject({ fileId: 'f' });
    expect(calls).toHaveLength(2);
  });

  it('does not retry a 4xx and carries code, status, request id and body', async () => {
    const { fetch, calls } = scripted([error(404, 'NOT_FOUND')]);
    const failure = await api(fetch)
      .getFile('nope')
      .catch((e: unknown) => e);
    expect(calls).toHaveLength(1);
    expect(failure).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      requestId: 'req-1',
      message: 'NOT_FOUND here',
    });
  });

  it('follows cursors as an async iterator', async () => {
    const { fetch, calls } = scripted([
      () => new Response(JSON.stringify({ items: [{ fileId: '1' }], nextCursor: 'c1' })),
      () => new Response(JSON.stringify({ items: [{ fileId: '2' }], nextCursor: null })),
    ]);
    const ids: string[] = [];
    for await (const file of api(fetch).files({ limit: 1 })) ids.push(file.fileId);
    expect(ids).toEqual(['1', '2']);
    expect(calls[1]?.url).toContain('cursor=c1');
  });
});

describe('backoff', () => {
  const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially, is capped, and jitters below the cap', () => {
    expect(backoffDelay(1, policy, undefined, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, undefined, () => 1)).toBe(400);
    expect(backoffDelay(9, policy, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(9, policy, undefined, () => 0.25)).toBe(250);
  });
  it('waits at least what Retry-After asks', () => {
    expect(backoffDelay(1, policy, 3, () => 1)).toBe(3000);
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThanOrEqual(4);
  });
});
