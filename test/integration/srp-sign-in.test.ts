import { randomBytes } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CognitoAuth, memorySessionStore } from '../../client/src/auth.ts';
import { REGION } from '../support/emulator-resources.ts';

/**
 * The client library's SRP sign-in against the emulator's Cognito, which checks the proof as
 * Cognito does (it keeps the password and recomputes the signature): the console signs in this
 * way and never sends the password.
 */
const endpoint = inject('emulatorEndpoint');
const cognito = new CognitoIdentityProviderClient({
  endpoint,
  region: REGION,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const email = `srp-${randomBytes(4).toString('hex')}@syncflow.test`;
const password = `Srp-${randomBytes(9).toString('base64url')}-1!`;
let pool: { userPoolId: string; userPoolClientId: string };

/** Counts what the client sends, to show the password is never among it. */
const sent: string[] = [];
const recordingFetch = (input: string | URL | Request, init?: RequestInit) => {
  sent.push(String(init?.body ?? ''));
  return fetch(input, init);
};

describe('SRP sign-in against the emulator', () => {
  beforeAll(async () => {
    const created = await cognito.send(
      new CreateUserPoolCommand({ PoolName: `srp-${randomBytes(3).toString('hex')}` }),
    );
    const userPoolId = created.UserPool?.Id ?? '';
    const client = await cognito.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: 'web',
        ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      }),
    );
    pool = { userPoolId, userPoolClientId: client.UserPoolClient?.ClientId ?? '' };
    await cognito.send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: email,
        MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'email', Value: email }],
      }),
    );
    await cognito.send(
      new AdminSetUserPasswordCommand({
        UserPoolId: userPoolId,
        Username: email,
        Password: password,
        Permanent: true,
      }),
    );
  });

  const auth = () =>
    new CognitoAuth(
      {
        region: REGION,
        userPoolClientId: pool.userPoolClientId,
        userPoolId: pool.userPoolId,
        endpoint: `${endpoint}/`,
      },
      memorySessionStore(),
      recordingFetch,
    );

  it('signs in with a proof of the password, which never leaves the client', async () => {
    sent.length = 0;
    const session = await auth().signIn(email, password);
    expect(session.email).toBe(email);
    const claims = JSON.parse(
      Buffer.from(session.idToken.split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(claims.email).toBe(email);
    expect(sent).toHaveLength(2);
    expect(sent.join('\n')).not.toContain(password);
    expect(JSON.parse(sent[0] ?? '{}')).toMatchObject({ AuthFlow: 'USER_SRP_AUTH' });
    expect(JSON.parse(sent[1] ?? '{}')).toMatchObject({ ChallengeName: 'PASSWORD_VERIFIER' });
  });

  it('refuses a wrong password with the sentence the console shows', async () => {
    await expect(auth().signIn(email, `${password}x`)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'Wrong email or password',
    });
  });
});
