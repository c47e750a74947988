import { existsSync, readFileSync } from 'node:fs';
import { type Command, type Context, signIn } from '../lib/command.ts';
import {
  LOCAL_PROFILE,
  localProfile,
  type Profile,
  readLocalStack,
  saveProfile,
} from '../lib/config.ts';
import { CliError, EXIT, usageError } from '../lib/errors.ts';

export interface LoginFlags {
  readonly email?: string;
  readonly passwordStdin: boolean;
  readonly outputs?: string;
  readonly stack?: string;
  readonly restUrl?: string;
  readonly websocketUrl?: string;
  readonly region?: string;
  readonly clientId?: string;
  readonly cognitoEndpoint?: string;
}

/** A stage's stack, from the file `cdk deploy --outputs-file` wrote. */
const profileFromOutputs = (path: string, stack?: string): Profile => {
  if (!existsSync(path)) throw usageError(`--outputs: ${path} does not exist`);
  const stacks = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  const names = Object.keys(stacks).filter((name) => name.startsWith('SyncFlow-'));
  const name = stack ?? (names.length === 1 ? names[0] : undefined);
  const outputs = name ? stacks[name] : undefined;
  if (!outputs) {
    throw usageError(
      `--outputs: ${path} holds ${names.join(', ') || 'no SyncFlow stack'}; pick one with --stack`,
    );
  }
  const need = ['RestApiUrl', 'WebSocketUrl', 'Region', 'UserPoolClientId'];
  const missing = need.filter((key) => !outputs[key]);
  if (missing.length > 0) throw usageError(`--outputs: ${path} lacks ${missing.join(', ')}`);
  return {
    restUrl: (outputs.RestApiUrl as string).replace(/\/?$/, '/'),
    websocketUrl: outputs.WebSocketUrl as string,
    region: outputs.Region as string,
    userPoolClientId: outputs.UserPoolClientId as string,
    ...(outputs.ConsoleUrl && { consoleUrl: outputs.ConsoleUrl }),
  };
};

/** Reads a password: the first line of stdin with --password-stdin, else a hidden prompt. */
const readPassword = async (ctx: Context, fromStdin: boolean): Promise<string> => {
  if (fromStdin) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw usageError('--password-stdin: stdin held no password');
    return line;
  }
  if (!process.stdin.isTTY) {
    throw usageError('No terminal to ask for the password: pass it with --password-stdin');
  }
  return askHidden('Password: ', ctx.out.errorStream);
};

/** Reads one line from the terminal without echoing it (raw mode, so nothing typed is shown). */
const askHidden = (prompt: string, out: NodeJS.WriteStream): Promise<string> =>
  new Promise((resolve, reject) => {
    const input = process.stdin;
    let value = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      out.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new CliError('Interrupted', EXIT.interrupted));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    out.write(prompt);
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });

export const login: Command<LoginFlags> = {
  name: 'login',
  summary: 'Sign in to a stack and keep the session',
  description:
    'Profiles name stacks: `local` (the default) is the one `npm start` runs, read from ' +
    '.syncflow/local.json, and signs in as its demo user with no typing. Other stages take the ' +
    'file `cdk deploy --outputs-file` wrote (or the URLs themselves) and an email; the password ' +
    'is asked for on the terminal or read from stdin. Tokens are kept in credentials.json in the ' +
    'config directory (readable by you alone) and renewed with the refresh token as they expire.',
  examples: [
    'syncflow login',
    'syncflow login --email ana@example.com --password-stdin < password.txt',
    'syncflow login --profile prod --outputs prod-outputs.json --email ana@example.com',
  ],
  flags: [
    { flags: '--email <email>', description: "the user (default on local: the stack's demo user)" },
    {
      flags: '--password-stdin',
      description: 'read the password from stdin instead of asking',
      default: false,
    },
    {
      flags: '--outputs <file>',
      description: 'the stack outputs `cdk deploy --outputs-file` wrote',
    },
    { flags: '--stack <name>', description: 'the stack in --outputs, when it holds several' },
    { flags: '--rest-url <url>', description: 'the REST API (instead of --outputs)' },
    { flags: '--websocket-url <url>', description: 'the WebSocket API (instead of --outputs)' },
    { flags: '--region <region>', description: 'the user pool region (instead of --outputs)' },
    { flags: '--client-id <id>', description: 'the user pool client id (instead of --outputs)' },
    {
      flags: '--cognito-endpoint <url>',
      description: 'a Cognito endpoint other than AWS (an emulator)',
    },
  ],
  async run(ctx, _args, flags) {
    let profile: Profile;
    let email = flags.email;
    let password: string | undefined;
    const given = [flags.restUrl, flags.websocketUrl, flags.region, flags.clientId];
    if (flags.outputs) {
      profile = profileFromOutputs(flags.outputs, flags.stack);
    } else if (given.some(Boolean)) {
      if (!given.every(Boolean)) {
        throw usageError('--rest-url, --websocket-url, --region and --client-id go together');
      }
      profile = {
        restUrl: (flags.restUrl as string).replace(/\/?$/, '/'),
        websocketUrl: flags.websocketUrl as string,
        region: flags.region as string,
        userPoolClientId: flags.clientId as string,
        ...(flags.cognitoEndpoint && {
          cognitoEndpoint: flags.cognitoEndpoint.replace(/\/?$/, '/'),
        }),
      };
    } else if (ctx.profileName === LOCAL_PROFILE) {
      const stack = readLocalStack(ctx.env);
      profile = localProfile(stack);
      if (!email || email === stack.demoUser.email) {
        email = stack.demoUser.email;
        if (!flags.passwordStdin) password = stack.demoUser.password;
      }
    } else {
      profile = ctx.profile();
    }
    if (ctx.profileName === LOCAL_PROFILE && (flags.outputs || given.some(Boolean))) {
      throw usageError(
        'The local profile always follows .syncflow/local.json: name another with --profile',
      );
    }
    if (!email) throw usageError('--email: which user? (only the local stack has a default)');
    password ??= await readPassword(ctx, flags.passwordStdin);
    const session = await signIn(ctx.configDir, ctx.profileName, profile, email, password);
    if (ctx.profileName !== LOCAL_PROFILE) saveProfile(ctx.configDir, ctx.profileName, profile);
    const data = {
      profile: ctx.profileName,
      email: session.email,
      restUrl: profile.restUrl,
      expiresAt: new Date(session.expiresAt).toISOString(),
    };
    return {
      exitCode: EXIT.ok,
      data,
      print: () => [`Signed in to ${data.profile} (${data.restUrl}) as ${data.email}`],
    };
  },
};
