import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';

const target = inject('target');

/** API Gateway's own answers and the query strings every route refuses, as a caller meets them. */
describe(`the edges of the API on the ${target.name} stack`, () => {
  let user: E2eUser;
  let removeUsers: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const fresh = await freshUsers(target, ['edges']);
    user = fresh.users[0] as E2eUser;
    removeUsers = fresh.remove;
  });
  afterAll(() => removeUsers());

  const call = async (method: string, path: string, token: string | null = user.token) => {
    const response = await fetch(new URL(path, target.restUrl), {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return {
      status: response.status,
      body: (await response.json()) as { error: { code: string; message: string } },
    };
  };

  it('answers an unknown route or method with the project\'s 404, not "Missing Authentication Token"', async () => {
    for (const [method, path] of [
      ['GET', 'nothing-here'],
      ['PATCH', 'files'],
      ['GET', 'uploads'],
    ] as const) {
      const answer = await call(method, path);
      expect(answer, `${method} ${path}`).toEqual({
        status: 404,
        body: {
          error: { code: 'NOT_FOUND', message: 'No such route: check the method and the path' },
        },
      });
    }
  });

  it('says what a missing or forged token lacks', async () => {
    const none = await call('GET', 'files', null);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/^No valid token: /),
    });
  });

  it('refuses a repeated or unknown query parameter on every route, naming it', async () => {
    const twice = await call('GET', 'files?status=FAILED&status=PROCESSED');
    expect(twice).toMatchObject({
      status: 400,
      body: { error: { message: 'status: given 2 times; give it once' } },
    });
    const unknownOnFile = await call('GET', `files/${crypto.randomUUID()}?verbose=1`);
    expect(unknownOnFile).toMatchObject({
      status: 400,
      body: {
        error: {
          message: expect.stringMatching(
            /^verbose: GET \/files\/\{fileId\} takes no query parameters/,
          ),
        },
      },
    });
    const unknownOnUpload = await call('POST', 'uploads?dryRun=true');
    expect(unknownOnUpload).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^dryRun: /) } },
    });
  });
});
