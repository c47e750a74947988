import { describe, expect, it } from 'vitest';
import {
  ApiError,
  CognitoAuth,
  type Session,
  type SessionStore,
} from '../../../client/src/index.ts';

const POOL = { region: 'eu-west-1', userPoolClientId: 'client-1', endpoint: 'https://idp.test/' };

/** A token Cognito could have issued: only its `exp` claim matters to the client. */
const jwt = (expSeconds: number, marker: string): string => {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp: expSeconds, marker })}.sig`;
};

const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

const session = (expiresInMs: number): Session => ({
  idToken: jwt(inSeconds(expiresInMs / 1000), 'old-id'),
  accessToken: 'old-access',
  refreshToken: 'refresh-1',
  expiresAt: Date.now() + expiresInMs,
  email: 'ana@example.com',
});

/** A store that records every save, as the CLI's file or the console's storage would. */
const recordingStore = (initial: Session | undefined) => {
  let kept = initial;
  const saved: (Session | undefined)[] = [];
  const store: SessionStore = {
    load: () => kept,
    save: (next) => {
      kept = next;
      saved.push(next);
    },
  };
  return { store, saved };
};

/** Cognito's JSON API answering every call with one response, after a turn of the event loop. */
const fakeCognito = (answer: () => Response) => {
  const calls: { target: string; body: Record<string, unknown> }[] = [];
  const fetch = async (_url: string, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    calls.push({
      target: headers.get('x-amz-target') ?? '',
      body: JSON.parse(String(init?.body)) as Record<string, unknown>,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    return answer();
  };
  return { fetch, calls };
};

const renewed = (idToken: string) => () =>
  new Response(
    JSON.stringify({
      AuthenticationResult: { IdToken: idToken, AccessToken: 'new-access', ExpiresIn: 3600 },
    }),
    { status: 200 },
  );

describe('CognitoAuth token refresh', () => {
  it('hands out a token far from expiry as it is, with no call to Cognito', async () => {
    const fresh = session(30 * 60_000);
    const { store } = recordingStore(fresh);
    const cognito = fakeCognito(() => new Response('{}', { status: 500 }));
    const auth = new CognitoAuth(POOL, store, cognito.fetch);
    expect(await auth.token()).toBe(fresh.idToken);
    expect(cognito.calls).toEqual([]);
  });

  it('refreshes a session within the margin once, for any number of concurrent callers', async () => {
    // One reading of the clock: a second boundary may pass before the assertion below.
    const exp = inSeconds(3600);
    const newId = jwt(exp, 'new-id');
    const { store, saved } = recordingStore(session(30_000));
    const cognito = fakeCognito(renewed(newId));
    const auth = new CognitoAuth(POOL, store, cognito.fetch);

    const tokens = await Promise.all([auth.token(), auth.token(), auth.token(), auth.refresh()]);

    expect(tokens.slice(0, 3)).toEqual([newId, newId, newId]);
    expect(cognito.calls).toHaveLength(1);
    expect(cognito.calls[0]).toEqual({
      target: 'AWSCognitoIdentityProviderService.InitiateAuth',
      body: {
        ClientId: 'client-1',
        AuthFlow: 'REFRESH_TOKEN_AUTH',
        AuthParameters: { REFRESH_TOKEN: 'refresh-1' },
      },
    });
    // Stored once through the store; Cognito sends no new refresh token, so the old one stays.
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({
      idToken: newId,
      accessToken: 'new-access',
      refreshToken: 'refresh-1',
      email: 'ana@example.com',
    });
    expect(saved[0]?.expiresAt).toBe(exp * 1000);
    // The stored session is now fresh: no further call.
    expect(await auth.token()).toBe(newId);
    expect(cognito.calls).toHaveLength(1);
  });

  it('refreshes an expired session too, and again once the first refresh has settled', async () => {
    const { store } = recordingStore(session(-5_000));
    let n = 0;
    const cognito = fakeCognito(() => renewed(jwt(inSeconds(30), `id-${++n}`))());
    const auth = new CognitoAuth(POOL, store, cognito.fetch);
    const first = await auth.token();
    // 30 s left is inside the one-minute margin: the next caller refreshes again.
    const second = await auth.token();
    expect(first).not.toBe(second);
    expect(cognito.calls).toHaveLength(2);
  });

  it('asks to sign in again, to every waiting caller, when Cognito refuses the refresh token', async () => {
    const stale = session(10_000);
    const { store, saved } = recordingStore(stale);
    const cognito = fakeCognito(
      () =>
        new Response(
          JSON.stringify({
            __type: 'NotAuthorizedException',
            message: 'Refresh Token has been revoked',
          }),
          { status: 400 },
        ),
    );
    const auth = new CognitoAuth(POOL, store, cognito.fetch);
    const results = await Promise.allSettled([auth.token(), auth.token()]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as ApiError;
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 400, code: 'UNAUTHORIZED' });
      expect(error.message).toMatch(/sign in again/);
      expect(error.message).not.toMatch(/password/);
    }
    expect(cognito.calls).toHaveLength(1);
    expect(saved).toEqual([]);
    // Nothing stays in flight: the next attempt asks Cognito again.
    await expect(auth.token()).rejects.toThrow(/sign in again/);
    expect(cognito.calls).toHaveLength(2);
  });

  it('says the service cannot be reached, not that the session expired, when the network fails', async () => {
    const { store } = recordingStore(session(10_000));
    const auth = new CognitoAuth(POOL, store, async () => {
      throw new TypeError('fetch failed');
    });
    await expect(auth.token()).rejects.toMatchObject({
      code: 'NETWORK',
      message: 'The sign-in service cannot be reached',
    });
  });

  it('refuses to refresh with no session, without calling Cognito', async () => {
    const cognito = fakeCognito(renewed('x'));
    const auth = new CognitoAuth(POOL, recordingStore(undefined).store, cognito.fetch);
    expect(await auth.token()).toBeUndefined();
    await expect(auth.refresh()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(cognito.calls).toEqual([]);
  });
});
