import { CognitoAuth, SyncFlowClient } from '../../client/src/index.ts';
import {
  configDir,
  fileSessionStore,
  LOCAL_PROFILE,
  loadProfiles,
  localProfile,
  type Profile,
  readLocalStack,
} from './config.ts';
import { CliError, EXIT } from './errors.ts';
import { createFileJournal, type FileJournal } from './journal.ts';
import type { Output } from './output.ts';

/** A flag of a command, as its `--help` shows it. */
export interface FlagSpec {
  /** Commander's flags string: `-c, --concurrency <n>`. */
  readonly flags: string;
  readonly description: string;
  readonly default?: string | number | boolean;
  /** Turns the text into the flag's value; throw a usage error for a bad one. */
  readonly parse?: (value: string) => unknown;
}

/** What every command gets: its options, where to print, the stack and a way to stop. */
export interface Context {
  readonly out: Output;
  readonly profileName: string;
  readonly configDir: string;
  /** Aborted by Ctrl-C: commands stop their work and return what they have. */
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** The stack of the profile (local: read from `.syncflow/local.json` each run). */
  profile(): Profile;
  /** The client library for the profile, signed in; exit 4 when nobody is. */
  client(): Promise<SyncFlowClient>;
  /** The upload journal of this profile. */
  journal(): FileJournal;
  /** Closes what the run opened (the journal). */
  close(): void;
}

/**
 * One command: its summary, examples and flags for `--help`, and a `run` that does the work and
 * returns data (the exit code and whatever the printer shows), never printing results itself
 * except as a stream of items (`ctx.out`).
 */
export interface Command<Options = Record<string, unknown>> {
  readonly name: string;
  /** Positional arguments in commander's syntax: `<paths...>`, `[fileId]`. */
  readonly args?: string;
  readonly summary: string;
  readonly description?: string;
  readonly examples: readonly string[];
  readonly flags: readonly FlagSpec[];
  run(ctx: Context, args: string[], options: Options): Promise<CommandResult>;
}

export interface CommandResult {
  readonly exitCode: number;
  /** The data, printed by `print` in human mode and as `{result}` with --json. */
  readonly data?: unknown;
  /** Human rendering of `data`: lines for stdout. */
  readonly print?: () => string[];
}

/** A positive whole number flag. */
export const positiveInt =
  (name: string, max = 1000) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) {
      throw new CliError(`${name}: must be a whole number from 1 to ${max}`, EXIT.usage);
    }
    return n;
  };

/** The context of one run of the CLI. */
export const createContext = (input: {
  out: Output;
  profileName: string;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}): Context => {
  const dir = configDir(input.env);
  let journal: FileJournal | undefined;
  const profile = (): Profile => {
    if (input.profileName === LOCAL_PROFILE) return localProfile(readLocalStack(input.env));
    const found = loadProfiles(dir)[input.profileName];
    if (!found) {
      throw new CliError(
        `No profile ${input.profileName}: sign in with \`syncflow login --profile ${input.profileName} --outputs <file>\``,
        EXIT.auth,
      );
    }
    return found;
  };
  return {
    ...input,
    configDir: dir,
    profile,
    journal() {
      journal ??= createFileJournal(dir, input.profileName);
      return journal;
    },
    close() {
      journal?.close();
    },
    async client() {
      const config = profile();
      const sessions = fileSessionStore(dir, input.profileName, config.userPoolClientId);
      const uploaderJournal = this.journal().parts;
      const client = new SyncFlowClient(config, { sessions, journal: uploaderJournal });
      if (!client.auth.session) {
        // The local stack's demo user needs no typing: its password is in local.json.
        if (input.profileName === LOCAL_PROFILE) {
          const stack = readLocalStack(input.env);
          const stored = sessions.stored;
          if (!stored || stored.email === stack.demoUser.email) {
            await client.auth.signIn(stack.demoUser.email, stack.demoUser.password);
            return client;
          }
        }
        throw new CliError(
          `Not signed in to ${input.profileName}: run \`syncflow login${input.profileName === LOCAL_PROFILE ? '' : ` --profile ${input.profileName}`}\``,
          EXIT.auth,
        );
      }
      return client;
    },
  };
};

/** Signs in to a profile's pool and keeps the session (used by `login`). */
export const signIn = async (
  dir: string,
  profileName: string,
  profile: Profile,
  email: string,
  password: string,
) => {
  const auth = new CognitoAuth(
    {
      region: profile.region,
      userPoolClientId: profile.userPoolClientId,
      ...(profile.cognitoEndpoint && { endpoint: profile.cognitoEndpoint }),
    },
    fileSessionStore(dir, profileName, profile.userPoolClientId),
  );
  return auth.signIn(email, password);
};
