import { JwtVerifier } from 'aws-jwt-verify';
import { JwtExpiredError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';

export interface TokenVerifierConfig {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly region: string;
  /** Defaults to Cognito's issuer for the pool; the emulator has its own. */
  readonly issuer?: string;
  readonly jwksUri?: string;
}

export interface VerifiedUser {
  /** Cognito's `sub`: stable for the user, and the owner id of their files. */
  readonly userId: string;
  /** When the token expires, in seconds since the epoch (its `exp`). */
  readonly expiresAt: number;
}

/**
 * Fetches the pool's keys with the runtime's fetch, which, unlike the library's own fetcher,
 * also speaks plain HTTP: the emulator serves its keys on http://127.0.0.1.
 */
const keysFetcher: Fetcher = {
  fetch: async (uri) => {
    const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`Fetching ${uri} failed: ${response.status}`);
    return response.arrayBuffer();
  },
};

/**
 * A token of this pool, signed by it, whose time is up: said apart from a bad token so the
 * user is told to sign in again (or renew it), not that it was never valid.
 */
export class TokenExpiredError extends Error {
  constructor(
    /** When it expired (ISO 8601), when the token says. */
    readonly expiredAt: string | undefined,
  ) {
    super(`Token expired${expiredAt ? ` at ${expiredAt}` : ''}`);
    this.name = 'TokenExpiredError';
  }
}

/**
 * Verifies Cognito access or ID tokens against the pool's published keys: signature, expiry,
 * issuer, token use and app client. Keys are fetched once and cached for the process.
 */
export const createTokenVerifier = (config: TokenVerifierConfig) => {
  const issuer =
    config.issuer ?? `https://cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`;
  const verifier = JwtVerifier.create(
    {
      issuer,
      jwksUri: config.jwksUri ?? `${issuer}/.well-known/jwks.json`,
      audience: null,
      // Without it an expired token's error carries no claims, and the 401 could not say when.
      includeRawJwtInErrors: true,
    },
    { jwksCache: new SimpleJwksCache({ fetcher: keysFetcher }) },
  );
  return async (token: string): Promise<VerifiedUser> => {
    const payload = await verifier.verify(token).catch((error: unknown) => {
      // The signature is checked before the claims: an expired token is one of the pool's.
      if (error instanceof JwtExpiredError) {
        const exp = (error.rawJwt?.payload as { exp?: unknown } | undefined)?.exp;
        throw new TokenExpiredError(
          typeof exp === 'number' ? new Date(exp * 1000).toISOString() : undefined,
        );
      }
      throw error;
    });
    const tokenUse = payload.token_use;
    const client = tokenUse === 'access' ? payload.client_id : payload.aud;
    if ((tokenUse !== 'access' && tokenUse !== 'id') || client !== config.clientId) {
      throw new Error(`Token is not an access or ID token of client ${config.clientId}`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new Error('Token has no subject');
    // The verifier has checked `exp`; a token without one never gets here.
    if (typeof payload.exp !== 'number') throw new Error('Token has no expiry');
    return { userId: payload.sub, expiresAt: payload.exp };
  };
};

/** The verifier of this stage's pool, configured from the function's environment. */
export const tokenVerifierFromEnv = (env: NodeJS.ProcessEnv = process.env) => {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is required but not set`);
    return value;
  };
  return createTokenVerifier({
    userPoolId: required('USER_POOL_ID'),
    clientId: required('USER_POOL_CLIENT_ID'),
    region: required('AWS_REGION'),
    ...(env.TOKEN_ISSUER && { issuer: env.TOKEN_ISSUER }),
    ...(env.JWKS_URI && { jwksUri: env.JWKS_URI }),
  });
};
