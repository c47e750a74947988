import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

/**
 * A throwaway PostgreSQL server for tests, from the Debian package's binaries, bound to
 * 127.0.0.1 on a free port with its data in a temporary folder. Logins over TCP need their
 * password (SCRAM-SHA-256, as Aurora and a production server ask), so tests of the functions'
 * roles prove that a role logs in with its own password and no other.
 */
export interface PostgresServer {
  readonly url: string;
  stop(): Promise<void>;
}

const findBinDir = (): string => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      'No PostgreSQL server found under /usr/lib/postgresql. Install it (apt-get install -y postgresql) or set TEST_DATABASE_URL to a server of yours.',
    );
  }
  return join(root, newest, 'bin');
};

/**
 * PostgreSQL refuses to run as root; as root, run it as the package's `postgres` user, directly
 * (no runuser in between) so that the PID we hold is the server's and our signals reach it.
 */
const serverUser = (): { uid: number; gid: number } | Record<string, never> => {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
};

const waitForExit = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

export const startPostgres = async (): Promise<PostgresServer> => {
  const bin = findBinDir();
  const dataDir = mkdtempSync(join(tmpdir(), 'syncflow-pg-'));
  const user = serverUser();
  if ('uid' in user) execFileSync('chown', [`${user.uid}:${user.gid}`, dataDir]);
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(dataDir, 'pw');
  writeFileSync(passwordFile, `${password}\n`);
  const pgdata = join(dataDir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    [
      '-D',
      pgdata,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '--username=postgres',
      '--encoding=UTF8',
      '--no-sync',
    ],
    { stdio: 'pipe', ...user },
  );
  const port = await freePort();
  const args = [
    '-D',
    pgdata,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-k',
    dataDir,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ];
  const child = spawn(join(bin, 'postgres'), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...user,
  });
  let log = '';
  child.stderr?.on('data', (data: Buffer) => {
    log += data.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!log.includes('ready to accept connections')) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited at start:\n${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`PostgreSQL did not start within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      // SIGINT is PostgreSQL's "fast shutdown": it ends the sessions and stops cleanly.
      child.kill('SIGINT');
      await waitForExit(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
