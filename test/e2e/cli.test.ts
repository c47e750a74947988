import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deleteUser } from '../../scripts/lib/users.ts';
import { CLI_PATH, cli, startCli } from '../support/cli.ts';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';
import { HTML_PAGE, makeJpeg, makePng } from '../support/images.ts';

const target = inject('target');

/** The `syncflow` command as a new user of the target would run it: its own config directory. */
describe(`syncflow (the CLI) against the ${target.name} stack`, () => {
  let user: E2eUser;
  let removeUsers: () => Promise<void> = async () => {};
  const work = mkdtempSync(join(tmpdir(), 'syncflow-cli-e2e-'));
  const env = { SYNCFLOW_CONFIG_DIR: join(work, 'config'), SYNCFLOW_PROFILE: 'e2e' };
  const folder = join(work, 'mixed');
  const ids = new Map<string, string>();

  beforeAll(async () => {
    const fresh = await freshUsers(target, ['cli']);
    user = fresh.users[0] as E2eUser;
    removeUsers = fresh.remove;
    mkdirSync(join(folder, 'nested'), { recursive: true });
    writeFileSync(join(folder, 'red.jpg'), await makeJpeg(64, 48));
    writeFileSync(join(folder, 'nested', 'green.png'), await makePng(32, 32));
    writeFileSync(join(folder, 'table.csv'), 'city,people\nLyon,522000\nNice,342000\n');
    writeFileSync(join(folder, 'nested', 'notes.txt'), 'plain words\n');
    // An HTML page declared as a JPEG by its name: the processor decides from the bytes.
    writeFileSync(join(folder, 'page.jpg'), HTML_PAGE);
  });

  afterAll(async () => {
    await removeUsers();
    rmSync(work, { recursive: true, force: true });
  });

  it('signs in with the stack outputs and a password on stdin; keeps the tokens private', async () => {
    const outputs = join(work, 'outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        'SyncFlow-e2e': {
          RestApiUrl: target.restUrl,
          WebSocketUrl: target.websocketUrl,
          Region: target.region,
          UserPoolClientId: target.userPoolClientId,
        },
      }),
    );
    const signIn = [
      'login',
      ...(target.aws.endpoint
        ? // An emulator's Cognito is not AWS's: the URLs are given one by one.
          [
            '--rest-url',
            target.restUrl,
            '--websocket-url',
            target.websocketUrl,
            '--region',
            target.region,
            '--client-id',
            target.userPoolClientId,
            '--cognito-endpoint',
            `${target.aws.endpoint}/`,
          ]
        : ['--outputs', outputs]),
      '--email',
      user.email,
      '--password-stdin',
      '--json',
    ];
    const wrong = await cli(signIn, env, 'Not-the-password-1!\n');
    expect(wrong.code).toBe(4);
    expect(wrong.json()[0]?.error?.code).toBe('UNAUTHORIZED');

    const login = await cli(signIn, env, `${user.password}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.json()[0]?.result).toMatchObject({ profile: 'e2e', email: user.email });
    expect(statSync(join(env.SYNCFLOW_CONFIG_DIR, 'credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('uploads a folder of mixed files with --wait --json: one line per file, exit 1 for the rejected one', async () => {
    const run = await cli(['upload', folder, '--wait', '--json', '--concurrency', '3'], env);
    const lines = run.json();
    expect(lines, run.stderr).toHaveLength(5);
    const byName = new Map(lines.map((l) => [String(l.result?.filename), l.result]));
    for (const name of ['red.jpg', 'green.png', 'table.csv', 'notes.txt']) {
      expect(byName.get(name), name).toMatchObject({
        status: 'PROCESSED',
        skipped: false,
        method: 'POST',
      });
      ids.set(name, String(byName.get(name)?.fileId));
    }
    expect(byName.get('page.jpg')).toMatchObject({ status: 'REJECTED' });
    expect(String(byName.get('page.jpg')?.reason)).toMatch(/HTML/);
    ids.set('page.jpg', String(byName.get('page.jpg')?.fileId));
    expect(run.code).toBe(1);
    // Five small files: their uploads were asked for in one request.
    expect(run.stderr).toMatch(/5 asked for in 1 batch request\b/);

    // The same command again sends nothing: every file is known to the journal.
    const again = await cli(['upload', folder, '--json'], env);
    expect(again.json().every((l) => l.result?.skipped === true)).toBe(true);
    expect(again.code).toBe(0);
  });

  it("lists with the API's filters and sort", async () => {
    const names = async (...args: string[]) => {
      const run = await cli(['ls', '--json', ...args], env);
      expect(run.code, run.stderr).toBe(0);
      const result = run.json()[0]?.result as { items: { filename: string }[] };
      return result.items.map((f) => f.filename);
    };
    expect(await names('--status', 'REJECTED')).toEqual(['page.jpg']);
    expect((await names('--type', 'image/*', '--sort', 'filename')).sort()).toEqual([
      'green.png',
      'red.jpg',
    ]);
    expect(await names('--name', 'TAB')).toEqual(['table.csv']);
    expect(await names('--sort', 'filename', '--status', 'PROCESSED')).toEqual([
      'green.png',
      'notes.txt',
      'red.jpg',
      'table.csv',
    ]);
    const paged = await cli(['ls', '--json', '--limit', '2', '--all'], env);
    expect((paged.json()[0]?.result as { items: unknown[] } | undefined)?.items).toHaveLength(5);
    const table = await cli(['ls', '--status', 'PROCESSED'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^FILE ID\s+STATUS\s+SIZE/);
    const bad = await cli(['ls', '--status', 'SLEEPING'], env);
    expect(bad.code).toBe(2);
  });

  it('gets the bytes that were uploaded, and a derivative', async () => {
    const out = join(work, 'red-copy.jpg');
    const run = await cli(['get', ids.get('red.jpg') ?? '', '-o', out, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(join(folder, 'red.jpg')))).toBe(true);
    expect(run.json()[0]?.result).toMatchObject({
      sha256: createHash('sha256').update(readFileSync(out)).digest('hex'),
    });
    const exists = await cli(['get', ids.get('red.jpg') ?? '', '-o', out], env);
    expect(exists.code).toBe(2);
    const thumb = join(work, 'thumb.webp');
    const derivative = await cli(
      ['get', ids.get('red.jpg') ?? '', '--derivative', 'thumbnail', '-o', thumb],
      env,
    );
    expect(derivative.code, derivative.stderr).toBe(0);
    expect(readFileSync(thumb).subarray(8, 12).toString('latin1')).toBe('WEBP');
  });

  it("reports each file the API refuses on its own line, with the API's code", async () => {
    const some = join(work, 'some');
    mkdirSync(some);
    writeFileSync(join(some, 'a.txt'), 'a\n');
    writeFileSync(join(some, 'b.txt'), 'b\n');
    const run = await cli(['upload', some, '--json', '--content-type', 'text/html'], env);
    expect(run.code).toBe(1);
    const lines = run.json();
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.error).toMatchObject({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringMatching(/text\/html is not accepted/),
      });
    }
    expect(run.stderr).toMatch(/2 asked for in 1 batch request\b/);
    // Nothing was recorded, so nothing is known to the journal: sent as they are next time.
    const again = await cli(['upload', some, '--json'], env);
    expect(again.code).toBe(0);
    expect(again.json().map((l) => l.result?.status)).toEqual(['UPLOADED', 'UPLOADED']);
  });

  it('sends a file above the multipart threshold in parts and says S3 confirmed its checksum', async () => {
    const large = join(work, 'large');
    mkdirSync(large);
    // Over the local stage's 8 MiB threshold.
    writeFileSync(join(large, 'big.bin'), randomBytes(9 * 1024 * 1024));
    const run = await cli(['upload', large, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()[0]?.result).toMatchObject({
      method: 'MULTIPART',
      status: 'UPLOADED',
      checksumVerified: true,
    });
  });

  it('resumes a run killed in the middle: every file once, none sent twice', async () => {
    const many = join(work, 'many');
    mkdirSync(many);
    // More than one batch (100 files a request), so the kill lands with files of a batch
    // recorded but not yet sent.
    const count = 140;
    for (let i = 0; i < count; i++) {
      writeFileSync(join(many, `bulk-${String(i).padStart(3, '0')}.bin`), randomBytes(64 * 1024));
    }
    const first = startCli(['upload', many, '--json', '--concurrency', '2'], env);
    const deadline = Date.now() + 60_000;
    while (first.json().length < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const sentFirst = first.json().filter((l) => l.result?.status === 'UPLOADED');
    expect(sentFirst.length).toBeGreaterThanOrEqual(6);
    expect(sentFirst.length).toBeLessThan(count);

    const second = await cli(['upload', many, '--json', '--concurrency', '4'], env);
    expect(second.code, second.stderr).toBe(0);
    const lines = second.json();
    expect(lines).toHaveLength(count);
    // The killed run had asked for the first batch of 100: those it had not sent were recorded
    // (their ids journaled), so they are given up and sent anew one by one; the 40 it never
    // reached are asked for in one batch.
    const resent = lines.filter((l) => l.result?.resumed && !l.result.skipped).length;
    expect(resent).toBeLessThanOrEqual(100 - sentFirst.length);
    expect(resent).toBeGreaterThanOrEqual(100 - sentFirst.length - 2);
    expect(second.stderr).toMatch(/40 asked for in 1 batch request\b/);
    const skipped = new Set(lines.filter((l) => l.result?.skipped).map((l) => l.result?.fileId));
    for (const line of sentFirst) expect(skipped.has(line.result?.fileId)).toBe(true);

    // The API holds each file exactly once (a record the killed run left waiting was given up).
    const listed: string[] = [];
    for await (const file of user.client.api.files({ q: 'bulk-', limit: 100 }))
      listed.push(file.filename);
    expect(listed.sort()).toEqual(
      Array.from({ length: count }, (_, i) => `bulk-${String(i).padStart(3, '0')}.bin`),
    );
  });

  it('reprocesses and deletes; says what it could not do', async () => {
    const rejected = ids.get('page.jpg') ?? '';
    const again = await cli(['reprocess', rejected, '--wait', '--json'], env);
    expect(again.json()[0]?.result).toMatchObject([{ fileId: rejected, status: 'REJECTED' }]);
    expect(again.code).toBe(1);

    const removed = await cli(['rm', ids.get('notes.txt') ?? '', '--json'], env);
    expect(removed.code).toBe(0);
    expect(removed.json()[0]?.result).toMatchObject({
      deleted: [ids.get('notes.txt')],
      failed: [],
    });
    const gone = await cli(['get', ids.get('notes.txt') ?? '', '--json'], env);
    expect(gone.code).toBe(1);
    expect(gone.json()[0]?.error?.code).toBe('NOT_FOUND');
  });

  it('watches live events until Ctrl-C (exit 130)', async () => {
    const watching = startCli(['watch', '--json'], env);
    const deadline = Date.now() + 20_000;
    while (!watching.stderr.includes('Watching') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const upload = await cli(['upload', join(folder, 'table.csv'), '--force', '--json'], env);
    const fileId = upload.json()[0]?.result?.fileId;
    const ended = () =>
      watching
        .json()
        .find((l) => l.result?.fileId === fileId && l.result?.type !== 'file.processing');
    while (!ended() && Date.now() < deadline + 40_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    watching.child.kill('SIGINT');
    expect(await watching.exited).toBe(130);
    expect(ended()?.result).toMatchObject({ type: 'file.processed', status: 'PROCESSED' });
    // The run's start may come too (pushes are not ordered), and nothing else.
    const types = watching
      .json()
      .filter((l) => l.result?.fileId === fileId)
      .map((l) => l.result?.type);
    expect(types.filter((t) => t !== 'file.processing')).toEqual(['file.processed']);
  });

  it('draws per-file and total bars with speed and time left in a real terminal (tmux)', async () => {
    const dir = join(work, 'terminal');
    mkdirSync(dir);
    // One file large enough for parts (its bar moves part by part) and a few small ones.
    writeFileSync(join(dir, 'large.bin'), randomBytes(12 * 1024 ** 2));
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, `small-${i}.bin`), randomBytes(300_000));
    const script = join(work, 'terminal.sh');
    writeFileSync(
      script,
      [
        `export SYNCFLOW_CONFIG_DIR='${env.SYNCFLOW_CONFIG_DIR}' SYNCFLOW_PROFILE=e2e`,
        `'${process.execPath}' '${CLI_PATH}' upload '${dir}' --concurrency 2 --parts 1`,
        'echo "EXIT=$?"',
        'sleep 60',
      ].join('\n'),
    );
    const session = `syncflow-e2e-${process.pid}`;
    execFileSync('tmux', [
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '150',
      '-y',
      '24',
      `bash '${script}'`,
    ]);
    const screens: string[] = [];
    try {
      const deadline = Date.now() + 90_000;
      while (!screens.at(-1)?.includes('EXIT=') && Date.now() < deadline) {
        screens.push(
          execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }),
        );
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    } finally {
      execFileSync('tmux', ['kill-session', '-t', session]);
    }
    const drawn = screens.filter((screen) => /total \(\d\/7 files\)/.test(screen));
    expect(drawn.length, screens.at(-1)).toBeGreaterThan(0);
    // A file's bar: its name, a bar, a percentage, bytes, speed and time left.
    expect(
      drawn.some((s) =>
        /large\.bin\s+[█░]+\s+\d+% [\d.]+ [kM]?B\/[\d.]+ MB [\d.]+ [kM]?B\/s ETA/.test(s),
      ),
    ).toBe(true);
    const last = screens.at(-1) ?? '';
    expect(last).toContain('EXIT=0');
    expect(last.match(/^UPLOADED /gm)).toHaveLength(7);
    // The bars are gone once done: the screen ends with the results and the summary.
    expect(last).not.toMatch(/[█░]{5}/);
    expect(last).toMatch(/7 files: 7 uploaded/);
  });

  it.runIf(target.name === 'local')(
    "adds a user to the local stack, who can sign in and sees none of the others' files",
    async () => {
      const email = `cli-added-${randomBytes(4).toString('hex')}@e2e.syncflow.test`;
      const local = {
        SYNCFLOW_CONFIG_DIR: join(work, 'config-local'),
        SYNCFLOW_PROFILE: 'local',
        SYNCFLOW_LOCAL_JSON: inject('localJson') ?? '',
      };
      // No arguments: the demo user from local.json, nothing to type.
      const demo = await cli(['login', '--json'], local);
      expect(demo.code, demo.stderr).toBe(0);
      expect(demo.json()[0]?.result).toMatchObject({
        profile: 'local',
        email: 'demo@syncflow.local',
      });
      expect((await cli(['ls', '--json'], local)).json()[0]?.result).toHaveProperty('items');
      const added = await cli(['users', 'add', email, '--json'], local);
      expect(added.code, added.stderr).toBe(0);
      const password = String(
        (added.json()[0]?.result as { password?: string } | undefined)?.password,
      );
      try {
        expect((await cli(['users', 'add', email], local)).code).toBe(1);
        const login = await cli(
          ['login', '--email', email, '--password-stdin'],
          local,
          `${password}\n`,
        );
        expect(login.code, login.stderr).toBe(0);
        const listed = await cli(['ls', '--json'], local);
        expect(listed.json()[0]?.result).toEqual({ items: [], nextCursor: null });
        // Another stage's users are an administrator's business, not this command's.
        expect((await cli(['users', 'add', email], env)).code).toBe(2);
      } finally {
        await deleteUser(new CognitoIdentityProviderClient(target.aws), target, email);
      }
    },
  );

  it('says why the WebSocket refused a kept token (invalid, or expired and when): exit 4', async () => {
    const credentials = JSON.parse(
      readFileSync(join(env.SYNCFLOW_CONFIG_DIR, 'credentials.json'), 'utf8'),
    );
    const session = credentials[env.SYNCFLOW_PROFILE];
    const [head, payload, signature] = String(session.idToken).split('.') as [
      string,
      string,
      string,
    ];
    const exp = Math.floor(Date.now() / 1000) - 60;
    const expiredClaims = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp }),
    ).toString('base64url');
    const cases = [
      // The kept session still says it is good for an hour: the CLI sends it as it is.
      [
        `${head}.${payload}.${signature.slice(0, -6)}AAAAAA`,
        /The WebSocket refused the token as invalid \(.+\); sign in again \(syncflow login\)/,
      ],
      [
        `${head}.${expiredClaims}.${signature}`,
        `The WebSocket refused the token: it expired at ${new Date(exp * 1000).toISOString()}; sign in again (syncflow login)`,
      ],
    ] as const;
    for (const [idToken, said] of cases) {
      const dir = join(work, `config-refused-${cases.findIndex((c) => c[0] === idToken)}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'profiles.json'),
        readFileSync(join(env.SYNCFLOW_CONFIG_DIR, 'profiles.json')),
      );
      writeFileSync(
        join(dir, 'credentials.json'),
        JSON.stringify({ [env.SYNCFLOW_PROFILE]: { ...session, idToken } }),
      );
      const watched = await cli(['watch'], { ...env, SYNCFLOW_CONFIG_DIR: dir });
      expect(watched.code, watched.stderr).toBe(4);
      expect(watched.stderr).toMatch(said);
    }
  });

  it('answers usage mistakes with exit 2 and a missing sign-in with exit 4', async () => {
    expect((await cli(['upload', join(work, 'no-such-file')], env)).code).toBe(2);
    expect((await cli(['upload', '--concurrency', '0', folder], env)).code).toBe(2);
    expect((await cli(['frobnicate'], env)).code).toBe(2);
    const nobody = await cli(['ls', '--json'], { ...env, SYNCFLOW_PROFILE: 'nobody' });
    expect(nobody.code).toBe(4);
    expect(nobody.json()[0]?.error?.code).toBe('UNAUTHORIZED');
    const help = await cli(['upload', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--concurrency <n>.*\(default: 8\)/);
    expect(help.stdout).toMatch(/Examples:\n {2}\$ syncflow upload/);
  });
});
