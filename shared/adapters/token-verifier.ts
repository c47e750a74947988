import { JwtVerifier } from 'aws-jwt-verify';

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
}

/**
 * Verifies Cognito access or ID tokens against the pool's published keys: signature, expiry,
 * issuer, token use and app client. Keys are fetched once and cached for the process.
 */
export const createTokenVerifier = (config: TokenVerifierConfig) => {
  const issuer =
    config.issuer ?? `https://cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`;
  const verifier = JwtVerifier.create({
    issuer,
    jwksUri: config.jwksUri ?? `${issuer}/.well-known/jwks.json`,
    audience: null,
  });
  return async (token: string): Promise<VerifiedUser> => {
    const payload = await verifier.verify(token);
    const tokenUse = payload.token_use;
    const client = tokenUse === 'access' ? payload.client_id : payload.aud;
    if ((tokenUse !== 'access' && tokenUse !== 'id') || client !== config.clientId) {
      throw new Error(`Token is not an access or ID token of client ${config.clientId}`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new Error('Token has no subject');
    return { userId: payload.sub };
  };
};
