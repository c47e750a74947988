import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fetchTransport, memoryJournal, SyncFlowApi, Uploader } from '../client/src/index.ts';
import {
  findRunningLocalStack,
  type LocalStack,
  startLocalStack,
} from '../scripts/lib/local-stack.ts';
import { signInUser } from '../scripts/lib/users.ts';
import { freePort } from '../test/support/ports.ts';

const ROOT = join(import.meta.dirname, '..');
const FILES = 1000;
const SIZE = 100 * 1024;
const CONCURRENCY = 8;
const CLI = join(ROOT, 'cli', 'bin', 'syncflow.mjs');

/** Runs the CLI to its end; resolves with its exit code and what it printed. */
const syncflow = (args: string[], env: NodeJS.ProcessEnv, input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });

/**
 * `cli-bulk`: 1,000 files of 100 KB through `syncflow upload` (one process: POST /uploads per
 * file, a presigned POST, SHA-256 sent along, the journal written before each file's bytes) to
 * the local stack, against the same files sent straight to the emulator's S3 with PutObject and
 * credentials (no API, no record, no journal), at the same concurrency, in the same run.
 * ratio = PutObject time / CLI time (1 = as fast). The PutObject run goes first, so the
 * processor's work on the CLI's uploads (on the same two cores) only slows the CLI's run.
 * libraryRatio is PutObject against the client library alone (no CLI), the same files after
 * the CLI's: the part of the gap that is the API's, not the command's.
 */
export const benchCliBulk = async () => {
  const running = await findRunningLocalStack();
  let started: LocalStack | undefined;
  if (!running) {
    started = await startLocalStack({
      emulatorPort: await freePort(),
      pgPort: await freePort(),
      consolePort: await freePort(),
      quiet: true,
    });
  }
  const stack = running ?? started?.info;
  if (!stack) throw new Error('No local stack');
  const work = mkdtempSync(join(tmpdir(), 'syncflow-cli-bulk-'));
  try {
    const dir = join(work, 'files');
    mkdirSync(dir);
    for (let i = 0; i < FILES; i++) {
      // Distinct bytes per file (no layer may take a shortcut on repeats).
      const bytes = Buffer.alloc(SIZE);
      for (let j = 0; j < SIZE; j += 4) bytes.writeUInt32LE(((i * SIZE + j) * 2654435761) >>> 0, j);
      writeFileSync(join(dir, `file-${String(i).padStart(4, '0')}.bin`), bytes);
    }
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    const cognito = new CognitoIdentityProviderClient({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
    });
    // A user of its own for each run (the demo user's list stays readable, and no earlier run's
    // open uploads count against this one's per-user limits).
    const email = `bench-cli-bulk-${Date.now()}@syncflow.local`;
    const password = 'Bench-cli-bulk-1!';
    const token = await signInUser(cognito, stack, email, password);

    const s3 = new S3Client({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
      forcePathStyle: true,
    });
    const bucket = stack.outputs.BucketName ?? '';
    const names = Array.from({ length: FILES }, (_, i) => `file-${String(i).padStart(4, '0')}.bin`);
    const t0 = performance.now();
    const queue = [...names];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let name = queue.shift(); name; name = queue.shift()) {
          await s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `bench/cli-bulk/${name}`,
              Body: readFileSync(join(dir, name)),
            }),
          );
        }
      }),
    );
    const putObjectSeconds = (performance.now() - t0) / 1000;

    const env = {
      ...process.env,
      SYNCFLOW_CONFIG_DIR: join(work, 'config'),
      SYNCFLOW_PROFILE: 'bench',
    };
    const login = await syncflow(
      [
        'login',
        '--rest-url',
        stack.restUrl,
        '--websocket-url',
        stack.websocketUrl,
        '--region',
        stack.region,
        '--client-id',
        stack.userPoolClientId,
        '--cognito-endpoint',
        `${stack.endpoint}/`,
        '--email',
        email,
        '--password-stdin',
      ],
      env,
      `${password}\n`,
    );
    if (login.code !== 0) throw new Error(`syncflow login failed: ${login.stderr}`);
    const t1 = performance.now();
    const run = await syncflow(
      ['upload', dir, '--json', '--concurrency', String(CONCURRENCY)],
      env,
    );
    const cliSeconds = (performance.now() - t1) / 1000;
    // The client library alone, the same files at the same concurrency: what the CLI itself
    // (journal, checksums, file handling, process start) adds to the API's own cost.
    const uploader = new Uploader(
      new SyncFlowApi({ baseUrl: stack.restUrl, token: async () => token }),
      stack.restUrl,
      {
        transport: fetchTransport(),
        journal: memoryJournal(),
      },
    );
    const t2 = performance.now();
    const pending = [...names];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let name = pending.shift(); name; name = pending.shift()) {
          await uploader.upload(await openAsBlob(join(dir, name)), {
            filename: `library-${name}`,
            contentType: 'application/octet-stream',
          });
        }
      }),
    );
    const librarySeconds = (performance.now() - t2) / 1000;
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { result?: { status: string } });
    const uploaded = lines.filter((l) => l.result?.status === 'UPLOADED').length;
    if (run.code !== 0 || uploaded !== FILES) {
      throw new Error(
        `syncflow upload exited ${run.code} with ${uploaded}/${FILES} files: ${run.stderr.slice(0, 500)}`,
      );
    }
    return {
      name: 'cli-bulk',
      files: FILES,
      bytesEach: SIZE,
      concurrency: CONCURRENCY,
      cliSeconds: Number(cliSeconds.toFixed(2)),
      putObjectSeconds: Number(putObjectSeconds.toFixed(2)),
      librarySeconds: Number(librarySeconds.toFixed(2)),
      cliFilesPerSecond: Math.round(FILES / cliSeconds),
      putObjectFilesPerSecond: Math.round(FILES / putObjectSeconds),
      ratio: Number((putObjectSeconds / cliSeconds).toFixed(2)),
      /** PutObject against the client library alone: the API's own cost, without the CLI. */
      libraryRatio: Number((putObjectSeconds / librarySeconds).toFixed(2)),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
    await started?.stop();
  }
};
