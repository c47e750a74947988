import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalStackInfo } from '../../scripts/lib/local-stack.ts';
import { PROJECT_ROOT } from '../../scripts/lib/ministack.ts';
import { cli } from '../support/cli.ts';
import { makePng } from '../support/images.ts';
import { freePort } from '../support/ports.ts';

/** `npm start` as a developer runs it, in a state folder of its own, stopped as Ctrl-C stops it. */
interface Started {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

const work = mkdtempSync(join(tmpdir(), 'syncflow-kept-'));
const stateDir = join(work, 'state');
const localJson = join(stateDir, 'local.json');
const running = new Set<Started>();

const start = async (ports: NodeJS.ProcessEnv, args: string[] = []): Promise<Started> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...ports, SYNCFLOW_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A group of its own, as a terminal's foreground job is: Ctrl-C signals the group.
    detached: true,
  });
  const started: Started = {
    child,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  running.add(started);
  void started.exited.then(() => running.delete(started));
  child.stdout?.on('data', (chunk) => {
    started.output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    started.output += chunk;
  });
  const deadline = Date.now() + 560_000;
  while (!started.output.includes("Functions' logs follow.")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`npm start did not come up:\n${started.output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return started;
};

/** A start expected to stop at once with an error: its output; fails if it came up. */
const refused = async (ports: NodeJS.ProcessEnv): Promise<string> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...ports, SYNCFLOW_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  // Had it come up instead, it is stopped like the others, and the test fails below.
  const guard = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
  }, 300_000);
  const code = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(guard);
  expect(code, output).toBe(1);
  return output;
};

/** Ctrl-C: SIGINT to the foreground group; npm start stops the emulator gracefully and exits. */
const interrupt = async (started: Started): Promise<void> => {
  if (started.child.pid !== undefined) process.kill(-started.child.pid, 'SIGINT');
  expect(await started.exited, started.output).toBe(0);
};

const stackInfo = (): LocalStackInfo => JSON.parse(readFileSync(localJson, 'utf8'));

/** How many file rows the database holds and objects the bucket holds. */
const contents = async (info: LocalStackInfo): Promise<{ rows: number; objects: number }> => {
  const client = new pg.Client({ connectionString: info.databaseUrl });
  await client.connect();
  const rows = await client
    .query<{ n: string }>('SELECT count(*) AS n FROM files')
    .finally(() => client.end());
  const s3 = new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const listed = await s3
    .send(new ListObjectsV2Command({ Bucket: info.outputs.BucketName }))
    .finally(() => s3.destroy());
  return { rows: Number(rows.rows[0]?.n), objects: listed.KeyCount ?? 0 };
};

describe('the local stack npm start keeps', () => {
  const cliEnv = {
    SYNCFLOW_CONFIG_DIR: join(work, 'config'),
    SYNCFLOW_PROFILE: 'local',
    SYNCFLOW_LOCAL_JSON: localJson,
  };

  afterAll(async () => {
    // A failed test may leave one up: stopped the way Ctrl-C stops it, by its group.
    for (const started of running) {
      if (started.child.pid !== undefined) process.kill(-started.child.pid, 'SIGINT');
      await started.exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('brings back the URLs, the demo user, the file and its bytes after Ctrl-C; --reset empties it all', async () => {
    const ports = {
      SYNCFLOW_EMULATOR_PORT: String(await freePort()),
      SYNCFLOW_PG_PORT: String(await freePort()),
      SYNCFLOW_CONSOLE_PORT: String(await freePort()),
    };
    const began = Date.now();
    const first = await start(ports);
    const before = stackInfo();
    const deployed = Date.now();

    expect((await cli(['login'], cliEnv)).code).toBe(0);
    const picture = join(work, 'kept.png');
    writeFileSync(picture, await makePng(40, 30));
    const upload = await cli(['upload', picture, '--wait', '--json'], cliEnv);
    expect(upload.code, upload.stderr).toBe(0);
    const uploaded = upload.json()[0]?.result as { fileId: string; status: string };
    expect(uploaded.status).toBe('PROCESSED');
    await interrupt(first);
    const stopped = Date.now();

    const second = await start(ports);
    const restarted = Date.now();
    expect(second.output).toContain('nothing to deploy');
    const after = stackInfo();
    expect(after.restUrl).toBe(before.restUrl);
    expect(after.websocketUrl).toBe(before.websocketUrl);
    expect(after.userPoolId).toBe(before.userPoolId);
    // npm start prints the WebSocket URL only once a fresh token opened it.
    expect(second.output).toContain(`WebSocket: ${after.websocketUrl}?token=<token>`);
    // A sign-in of its own, not the session kept from before the restart.
    rmSync(cliEnv.SYNCFLOW_CONFIG_DIR, { recursive: true, force: true });
    const login = await cli(['login'], cliEnv);
    expect(login.code, login.stderr).toBe(0);
    const listed = await cli(['ls', '--json'], cliEnv);
    const { items } = (listed.json()[0]?.result ?? { items: [] }) as {
      items: { fileId: string; status: string }[];
    };
    expect(items.map((item) => [item.fileId, item.status])).toEqual([
      [uploaded.fileId, 'PROCESSED'],
    ]);
    const copy = join(work, 'copy.png');
    const got = await cli(['get', uploaded.fileId, '-o', copy], cliEnv);
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(copy).equals(readFileSync(picture))).toBe(true);
    expect(await contents(after)).toEqual({ rows: 1, objects: expect.any(Number) });
    // The restarted pipeline takes new work, not only what it kept.
    const later = join(work, 'later.png');
    writeFileSync(later, await makePng(30, 20));
    const again = await cli(['upload', later, '--wait', '--json'], cliEnv);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()[0]?.result).toMatchObject({ status: 'PROCESSED' });
    await interrupt(second);

    // On another emulator port the kept queues would take uploads and never hand them on: the
    // start refuses, saying which port, before it starts anything.
    const elsewhere = await refused({ ...ports, SYNCFLOW_EMULATOR_PORT: String(await freePort()) });
    expect(elsewhere).toContain(
      `The kept stack was made with the emulator on port ${ports.SYNCFLOW_EMULATOR_PORT}`,
    );
    expect(elsewhere).toContain('npm start -- --reset');
    // Nothing ran, so nothing is said to be stopping.
    expect(elsewhere).not.toContain('Stopping');

    const third = await start(ports, ['--reset']);
    const reset = Date.now();
    expect(third.output).toContain('Starting clean (--reset)');
    // Same sources and settings: the assembly of the first deploy goes in again, not re-bundled.
    expect(third.output).toContain('the bundles of its last deploy');
    expect(await contents(stackInfo())).toEqual({ rows: 0, objects: 0 });
    expect((await cli(['login'], cliEnv)).code).toBe(0);
    expect((await cli(['ls', '--json'], cliEnv)).json()[0]?.result).toEqual({
      items: [],
      nextCursor: null,
    });
    await interrupt(third);
    console.log(
      `kept stack: first start ${Math.round((deployed - began) / 1000)} s, upload and stop ${Math.round((stopped - deployed) / 1000)} s, restart ${Math.round((restarted - stopped) / 1000)} s, --reset start ${Math.round((reset - restarted) / 1000)} s (the checks between them included)`,
    );
  });
});
