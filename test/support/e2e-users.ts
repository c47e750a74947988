import { randomBytes } from 'node:crypto';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { memoryJournal, SyncFlowClient } from '../../client/src/index.ts';
import { deleteUser, signInUser } from '../../scripts/lib/users.ts';
import { ApiClient } from './api-client.ts';
import { checkedFetch } from './checked-fetch.ts';
import type { Target } from './targets.ts';

export interface E2eUser {
  readonly email: string;
  /** Made up for this run; the console's sign-in form takes it. */
  readonly password: string;
  readonly token: string;
  /** Cognito's `sub`, the owner id of the user's files. */
  readonly ownerId: string;
  readonly api: ApiClient;
  /** The client library as this user, every REST answer checked against docs/openapi.yaml. */
  readonly client: SyncFlowClient;
}

/** The client library for a user of the target, with the contract checked on every answer. */
export const clientFor = (target: Target, token: string): SyncFlowClient =>
  new SyncFlowClient(
    {
      restUrl: target.restUrl,
      websocketUrl: target.websocketUrl,
      region: target.region,
      userPoolClientId: target.userPoolClientId,
      ...(target.aws.endpoint && { cognitoEndpoint: `${target.aws.endpoint}/` }),
    },
    { token, fetch: checkedFetch(target.restUrl), journal: memoryJournal() },
  );

/**
 * Fresh users for one test file, in the target's user pool, so each starts with no files and no
 * connections; `remove` deletes them again (a run against AWS leaves no users behind).
 */
export const freshUsers = async (
  target: Target,
  names: readonly string[],
): Promise<{ users: E2eUser[]; remove: () => Promise<void> }> => {
  const cognito = new CognitoIdentityProviderClient(target.aws);
  const pool = { userPoolId: target.userPoolId, userPoolClientId: target.userPoolClientId };
  const run = randomBytes(4).toString('hex');
  const password = `E2e-${randomBytes(12).toString('base64url')}-1!`;
  const users: E2eUser[] = [];
  for (const name of names) {
    const email = `${name}-${run}@e2e.syncflow.test`;
    const token = await signInUser(cognito, pool, email, password);
    const payload = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    );
    users.push({
      email,
      password,
      token,
      ownerId: payload.sub,
      api: new ApiClient(target.restUrl, token),
      client: clientFor(target, token),
    });
  }
  return {
    users,
    remove: async () => {
      for (const user of users) await deleteUser(cognito, pool, user.email);
    },
  };
};
