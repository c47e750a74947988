import { ApiError } from './errors.ts';
import type { FetchLike } from './http.ts';
import { startSrp } from './srp.ts';

/** Where the user pool is: Cognito's regional endpoint in AWS, the emulator's locally. */
export interface UserPoolConfig {
  readonly region: string;
  readonly userPoolClientId: string;
  /**
   * The pool's id (`<region>_<name>`): with it, sign-in proves the password with SRP and never
   * sends it (USER_SRP_AUTH); without it, the password goes to Cognito over TLS
   * (USER_PASSWORD_AUTH).
   */
  readonly userPoolId?: string;
  /** @default `https://cognito-idp.{region}.amazonaws.com/` */
  readonly endpoint?: string;
}

export interface Session {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** When the ID token stops being accepted (ms since the epoch). */
  readonly expiresAt: number;
  readonly email: string;
}

/** Where a session is kept between page loads; never a password. */
export interface SessionStore {
  load(): Session | undefined;
  save(session: Session | undefined): void;
}

export const memorySessionStore = (): SessionStore => {
  let kept: Session | undefined;
  return {
    load: () => kept,
    save: (session) => {
      kept = session;
    },
  };
};

interface AuthenticationResult {
  IdToken?: string;
  AccessToken?: string;
  RefreshToken?: string;
  ExpiresIn?: number;
}

/** Renew this long before the token expires, so no request carries one that just ran out. */
const REFRESH_MARGIN_MS = 60_000;

const claimsOf = (jwt: string): Record<string, unknown> => {
  const payload = jwt.split('.')[1] ?? '';
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
};

/**
 * Signs a user in to the stack's Cognito user pool over Cognito's JSON API (plain fetch: no SDK in
 * a browser bundle) with SRP where the pool's id is known (USER_SRP_AUTH), keeps the session and
 * renews the tokens with the refresh token before they expire.
 */
export class CognitoAuth {
  private readonly endpoint: string;
  private readonly doFetch: FetchLike;
  private refreshing: Promise<Session> | undefined;

  constructor(
    private readonly config: UserPoolConfig,
    private readonly store: SessionStore = memorySessionStore(),
    fetchImpl?: FetchLike,
  ) {
    this.endpoint = config.endpoint ?? `https://cognito-idp.${config.region}.amazonaws.com/`;
    this.doFetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  }

  get session(): Session | undefined {
    return this.store.load();
  }

  /** One call of Cognito's JSON API; its errors as ApiError with a sentence a person can read. */
  private async post(
    target: 'InitiateAuth' | 'RespondToAuthChallenge',
    payload: Record<string, unknown>,
  ): Promise<{
    AuthenticationResult?: AuthenticationResult;
    ChallengeName?: string;
    ChallengeParameters?: Record<string, string>;
    Session?: string;
  }> {
    let response: Response;
    try {
      response = await this.doFetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `AWSCognitoIdentityProviderService.${target}`,
        },
        body: JSON.stringify({ ClientId: this.config.userPoolClientId, ...payload }),
      });
    } catch (cause) {
      throw new ApiError({
        status: 0,
        code: 'NETWORK',
        message: 'The sign-in service cannot be reached',
        cause,
      });
    }
    const body = (await response.json().catch(() => ({}))) as {
      AuthenticationResult?: AuthenticationResult;
      ChallengeName?: string;
      ChallengeParameters?: Record<string, string>;
      Session?: string;
      __type?: string;
      message?: string;
    };
    if (!response.ok) {
      const type = (body.__type ?? '').split('#').pop() ?? '';
      const wrongCredentials =
        type === 'NotAuthorizedException' || type === 'UserNotFoundException';
      throw new ApiError({
        status: response.status,
        code: wrongCredentials ? 'UNAUTHORIZED' : 'UNKNOWN',
        message: wrongCredentials
          ? 'Wrong email or password'
          : (body.message ?? `Sign-in failed (${type || response.status})`),
        body,
      });
    }
    return body;
  }

  private async call(
    flow: string,
    parameters: Record<string, string>,
  ): Promise<AuthenticationResult> {
    const body = await this.post('InitiateAuth', { AuthFlow: flow, AuthParameters: parameters });
    return this.result(body);
  }

  private result(body: {
    AuthenticationResult?: AuthenticationResult;
    ChallengeName?: string;
  }): AuthenticationResult {
    if (!body.AuthenticationResult) {
      throw new ApiError({
        status: 400,
        code: 'UNAUTHORIZED',
        message: `Sign-in needs a step this client does not offer (${body.ChallengeName ?? 'unknown'}); ask your administrator`,
        body,
      });
    }
    return body.AuthenticationResult;
  }

  /** USER_SRP_AUTH: Cognito's challenge, answered with a proof of the password (srp.ts). */
  private async srpSignIn(
    userPoolId: string,
    email: string,
    password: string,
  ): Promise<AuthenticationResult> {
    const srp = startSrp(userPoolId);
    const started = await this.post('InitiateAuth', {
      AuthFlow: 'USER_SRP_AUTH',
      AuthParameters: { USERNAME: email, SRP_A: srp.srpA },
    });
    const challenge = started.ChallengeParameters;
    if (
      started.ChallengeName !== 'PASSWORD_VERIFIER' ||
      !challenge?.SALT ||
      !challenge.SRP_B ||
      !challenge.SECRET_BLOCK ||
      !challenge.USER_ID_FOR_SRP
    ) {
      return this.result(started);
    }
    const responses = await srp.respond(
      {
        SALT: challenge.SALT,
        SRP_B: challenge.SRP_B,
        SECRET_BLOCK: challenge.SECRET_BLOCK,
        USER_ID_FOR_SRP: challenge.USER_ID_FOR_SRP,
      },
      password,
    );
    const answered = await this.post('RespondToAuthChallenge', {
      ChallengeName: 'PASSWORD_VERIFIER',
      ChallengeResponses: responses,
      ...(started.Session && { Session: started.Session }),
    });
    return this.result(answered);
  }

  private keep(result: AuthenticationResult, email: string, refreshToken?: string): Session {
    if (!result.IdToken || !result.AccessToken) throw new Error('Cognito answered without tokens');
    const exp = Number(claimsOf(result.IdToken).exp ?? 0) * 1000;
    const session: Session = {
      idToken: result.IdToken,
      accessToken: result.AccessToken,
      refreshToken: result.RefreshToken ?? refreshToken ?? '',
      expiresAt: exp || Date.now() + (result.ExpiresIn ?? 3600) * 1000,
      email,
    };
    this.store.save(session);
    return session;
  }

  /**
   * Signs in: with the pool's id by SRP (the password never leaves this process), otherwise with
   * the password sent once to Cognito over TLS. The password is kept nowhere.
   */
  async signIn(email: string, password: string): Promise<Session> {
    const result = this.config.userPoolId
      ? await this.srpSignIn(this.config.userPoolId, email, password)
      : await this.call('USER_PASSWORD_AUTH', { USERNAME: email, PASSWORD: password });
    return this.keep(result, email);
  }

  signOut(): void {
    this.store.save(undefined);
  }

  /** New tokens from the refresh token; concurrent callers share one request. */
  refresh(): Promise<Session> {
    const current = this.store.load();
    if (!current?.refreshToken)
      return Promise.reject(
        new ApiError({ status: 401, code: 'UNAUTHORIZED', message: 'Not signed in' }),
      );
    this.refreshing ??= this.call('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: current.refreshToken })
      .then((result) => this.keep(result, current.email, current.refreshToken))
      .catch((error: unknown) => {
        // Cognito refuses a refresh token that expired or was revoked with the error it gives a
        // wrong password: "Wrong email or password" would puzzle someone who typed none.
        if (error instanceof ApiError && error.code === 'UNAUTHORIZED') {
          throw new ApiError({
            status: error.status,
            code: 'UNAUTHORIZED',
            message: 'The session has expired or was revoked: sign in again',
            body: error.body,
            cause: error,
          });
        }
        throw error;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** A token that is valid for at least another minute, refreshed if need be. */
  async token(): Promise<string | undefined> {
    const current = this.store.load();
    if (!current) return undefined;
    if (current.expiresAt - Date.now() > REFRESH_MARGIN_MS) return current.idToken;
    return (await this.refresh()).idToken;
  }
}
