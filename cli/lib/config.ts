import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Session, SessionStore, StackConfig } from '../../client/src/index.ts';
import { CliError, EXIT } from './errors.ts';

/** The profile of the stack `npm start` runs on this machine. */
export const LOCAL_PROFILE = 'local';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where profiles, tokens and the upload journal live: private to the user. */
export const configDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env.SYNCFLOW_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'syncflow');

/**
 * `.syncflow/local.json` of the stack `npm start` runs: in SYNCFLOW_STATE_DIR when npm start
 * keeps its stack there, or wherever SYNCFLOW_LOCAL_JSON says.
 */
export const localJsonPath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.SYNCFLOW_LOCAL_JSON ||
  join(env.SYNCFLOW_STATE_DIR || join(REPO_ROOT, '.syncflow'), 'local.json');

/** A stack the CLI talks to: where its API, WebSocket and user pool are. */
export interface Profile extends StackConfig {
  /** The web console, to link to in messages. */
  readonly consoleUrl?: string;
}

/** What `.syncflow/local.json` holds that the CLI reads (scripts/lib/local-stack.ts writes it). */
export interface LocalStackFile {
  readonly endpoint: string;
  readonly region: string;
  readonly restUrl: string;
  readonly websocketUrl: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly demoUser: { readonly email: string; readonly password: string };
  readonly consoleUrl?: string;
}

export const readLocalStack = (env: NodeJS.ProcessEnv = process.env): LocalStackFile => {
  const path = localJsonPath(env);
  if (!existsSync(path)) {
    throw new CliError(
      `No local stack: ${path} does not exist. Start one with \`npm start\` (or name a stack with --profile)`,
      EXIT.auth,
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as LocalStackFile;
};

export const localProfile = (stack: LocalStackFile): Profile => ({
  restUrl: stack.restUrl,
  websocketUrl: stack.websocketUrl,
  region: stack.region,
  userPoolClientId: stack.userPoolClientId,
  cognitoEndpoint: `${stack.endpoint}/`,
  ...(stack.consoleUrl && { consoleUrl: stack.consoleUrl }),
});

/**
 * Writes a file the user alone may read (0600), whole or not at all: a temporary file renamed
 * over the old one, so a crash never leaves half a file.
 */
export const writePrivateFile = (path: string, text: string): void => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
};

const readJson = <T>(path: string, fallback: T): T => {
  if (!existsSync(path)) return fallback;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    throw new CliError(`${path} is not valid JSON; fix or remove it`, EXIT.failed);
  }
};

/** The stage profiles the user logged in to (`profiles.json`); local comes from local.json. */
export const loadProfiles = (dir: string): Record<string, Profile> =>
  readJson<Record<string, Profile>>(join(dir, 'profiles.json'), {});

export const saveProfile = (dir: string, name: string, profile: Profile): void => {
  const all = loadProfiles(dir);
  all[name] = profile;
  writePrivateFile(join(dir, 'profiles.json'), `${JSON.stringify(all, null, 2)}\n`);
};

/** A session kept for one profile, with the pool client it belongs to. */
interface StoredSession extends Session {
  readonly userPoolClientId: string;
}

/**
 * The client library's session store in `credentials.json` (0600): tokens survive between runs
 * and a refreshed one is written back, so the user signs in once per refresh token's life.
 */
export const fileSessionStore = (
  dir: string,
  profile: string,
  userPoolClientId: string,
): SessionStore & { readonly stored: StoredSession | undefined } => {
  const path = join(dir, 'credentials.json');
  const read = () => readJson<Record<string, StoredSession>>(path, {});
  return {
    get stored() {
      return read()[profile];
    },
    load() {
      const session = read()[profile];
      // Tokens of another pool client (a stack reset since) are worth nothing here.
      return session && session.userPoolClientId === userPoolClientId ? session : undefined;
    },
    save(session) {
      const all = read();
      if (session) all[profile] = { ...session, userPoolClientId };
      else delete all[profile];
      writePrivateFile(path, `${JSON.stringify(all, null, 2)}\n`);
    },
  };
};
