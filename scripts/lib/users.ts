import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminSetUserPasswordCommand,
  type CognitoIdentityProviderClient,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';

export interface UserPoolRef {
  readonly userPoolId: string;
  readonly userPoolClientId: string;
}

/**
 * Makes sure the user exists with this password (an administrator's call: the pool has no self
 * sign-up) and signs them in. Returns their ID token, which the REST and WebSocket APIs take.
 */
export const signInUser = async (
  cognito: CognitoIdentityProviderClient,
  pool: UserPoolRef,
  email: string,
  password: string,
): Promise<string> => {
  await cognito
    .send(
      new AdminCreateUserCommand({
        UserPoolId: pool.userPoolId,
        Username: email,
        MessageAction: 'SUPPRESS',
        UserAttributes: [
          { Name: 'email', Value: email },
          { Name: 'email_verified', Value: 'true' },
        ],
      }),
    )
    .catch((error: Error) => {
      if (error.name !== 'UsernameExistsException') throw error;
    });
  await cognito.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: pool.userPoolId,
      Username: email,
      Password: password,
      Permanent: true,
    }),
  );
  const auth = await cognito.send(
    new InitiateAuthCommand({
      ClientId: pool.userPoolClientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: email, PASSWORD: password },
    }),
  );
  const token = auth.AuthenticationResult?.IdToken;
  if (!token) throw new Error(`Cognito signed ${email} in without an ID token`);
  return token;
};

/** Deletes a user; one that is already gone is fine. */
export const deleteUser = async (
  cognito: CognitoIdentityProviderClient,
  pool: UserPoolRef,
  email: string,
): Promise<void> => {
  await cognito
    .send(new AdminDeleteUserCommand({ UserPoolId: pool.userPoolId, Username: email }))
    .catch((error: Error) => {
      if (error.name !== 'UserNotFoundException') throw error;
    });
};
