import { randomBytes } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Command } from '../lib/command.ts';
import { LOCAL_PROFILE, readLocalStack } from '../lib/config.ts';
import { CliError, EXIT, usageError } from '../lib/errors.ts';

export interface UsersAddFlags {
  readonly passwordStdin: boolean;
}

/** A password the pool's policy accepts (12+ characters, all four kinds). */
const makePassword = (): string => `Sf-${randomBytes(12).toString('base64url')}-7a!`;

export const usersAdd: Command<UsersAddFlags> = {
  name: 'users add',
  args: '<email>',
  summary: 'Create a user in the local stack (administrators use Cognito in AWS)',
  description:
    "Creates the user in the local stack's user pool with a password, and prints both; sign in " +
    'as them with `syncflow login --email <email>`. Only the local stage: in AWS, users are ' +
    'created by an administrator in the Cognito console or with the AWS CLI.',
  examples: [
    'syncflow users add ana@example.com',
    'syncflow users add ana@example.com --password-stdin < password.txt',
  ],
  flags: [
    {
      flags: '--password-stdin',
      description: 'read the password from stdin instead of making a new random one',
      default: false,
    },
  ],
  async run(ctx, [email], flags) {
    if (ctx.profileName !== LOCAL_PROFILE) {
      throw usageError(
        'users add works on the local stack only; in AWS an administrator creates users in Cognito',
      );
    }
    if (!email || !/^[^@\s]+@[^@\s]+$/.test(email))
      throw usageError("Give the new user's email address");
    let password = makePassword();
    if (flags.passwordStdin) {
      let text = '';
      for await (const chunk of process.stdin) text += String(chunk);
      password = text.split(/\r?\n/)[0] ?? '';
      if (password === '') throw usageError('--password-stdin: stdin held no password');
    }
    const stack = readLocalStack(ctx.env);
    const cognito = new CognitoIdentityProviderClient({
      endpoint: stack.endpoint,
      region: stack.region,
      // The emulator takes any credentials; these name no real account.
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const created = await cognito.send(
        new AdminCreateUserCommand({
          UserPoolId: stack.userPoolId,
          Username: email,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'email_verified', Value: 'true' },
          ],
        }),
      );
      await cognito.send(
        new AdminSetUserPasswordCommand({
          UserPoolId: stack.userPoolId,
          Username: email,
          Password: password,
          Permanent: true,
        }),
      );
      const userId = created.User?.Attributes?.find((a) => a.Name === 'sub')?.Value;
      const data = { email, password, ...(userId && { userId }) };
      return {
        exitCode: EXIT.ok,
        data,
        print: () => [
          `Created ${email} with password ${password}`,
          `Sign in as them: syncflow login --email ${email}`,
        ],
      };
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'UsernameExistsException')
        throw new CliError(`${email} exists already`, EXIT.failed, 'CONFLICT');
      if (name === 'InvalidPasswordException')
        throw usageError(
          `The password does not meet the pool's policy: ${(error as Error).message}`,
        );
      throw error;
    } finally {
      cognito.destroy();
    }
  },
};
