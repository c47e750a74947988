import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  fetchTransport,
  MAX_UPLOAD_BATCH,
  memoryJournal,
  SyncFlowApi,
  Uploader,
  type UploadResponse,
} from '../client/src/index.ts';
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
 * `cli-bulk`: 1,000 files of 100 KB through `syncflow upload` (one process: the files' uploads
 * asked for in batches of 100 with `POST /uploads/batch`, a presigned POST each, SHA-256 sent
 * along, the journal written before each batch and each file's bytes) to the local stack,
 * against the same files sent straight to the emulator's S3 with PutObject and credentials (no
 * API, no record, no journal), at the same concurrency, in the same run.
 * ratio = PutObject time / CLI time (1 = as fast). The PutObject run goes first, so the
 * processor's work on the CLI's uploads (on the same two cores) only slows the CLI's run.
 * Then the client library alone (no CLI), the same files: with one `POST /uploads` a file
 * (librarySingleRatio), and asking in batches as the CLI does (libraryBatchRatio); then
 * PutObject again (putObjectDrift: how much the shared machine's speed moved meanwhile).
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
    // Makes the user the CLI signs in as below.
    await signInUser(cognito, stack, email, password);

    const s3 = new S3Client({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
      forcePathStyle: true,
    });
    const bucket = stack.outputs.BucketName ?? '';
    const names = Array.from({ length: FILES }, (_, i) => `file-${String(i).padStart(4, '0')}.bin`);
    const putObjects = async (): Promise<number> => {
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
      return (performance.now() - t0) / 1000;
    };
    const putObjectSeconds = await putObjects();

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
    // A user of their own for each of the library's runs: the files a run sent stay
    // PENDING_UPLOAD until the processor sees them, and would count against the next run's
    // open uploads (a 429 and a minute's wait is not what this measures).
    const libraryClient = async (name: string) => {
      const userToken = await signInUser(cognito, stack, email.replace('@', `-${name}@`), password);
      const api = new SyncFlowApi({ baseUrl: stack.restUrl, token: async () => userToken });
      return {
        api,
        uploader: new Uploader(api, stack.restUrl, {
          transport: fetchTransport(),
          journal: memoryJournal(),
        }),
      };
    };
    const single = await libraryClient('single');
    const batched = await libraryClient('batched');
    const t2 = performance.now();
    const pending = [...names];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let name = pending.shift(); name; name = pending.shift()) {
          await single.uploader.upload(await openAsBlob(join(dir, name)), {
            filename: `library-${name}`,
            contentType: 'application/octet-stream',
          });
        }
      }),
    );
    const librarySingleSeconds = (performance.now() - t2) / 1000;
    // The library with batches, as the CLI asks: 100 files a request, each sent as answered.
    const t3 = performance.now();
    const answered: { name: string; created: UploadResponse }[] = [];
    let asking: Promise<void> | undefined;
    const left = [...names];
    const ask = async (): Promise<void> => {
      const batch = left.splice(0, MAX_UPLOAD_BATCH);
      const { items } = await batched.api.createUploads(
        batch.map((name) => ({
          filename: `batched-${name}`,
          contentType: 'application/octet-stream',
          size: SIZE,
        })),
      );
      items.forEach((item, i) => {
        const name = batch[i];
        if (!name || 'error' in item) throw new Error(`No upload for ${name}`);
        answered.push({ name, created: item });
      });
    };
    const nextBatched = async () => {
      for (;;) {
        const found = answered.shift();
        if (found) {
          if (answered.length <= 2 * CONCURRENCY && left.length > 0) {
            asking ??= ask().finally(() => {
              asking = undefined;
            });
          }
          return found;
        }
        if (left.length === 0 && !asking) return undefined;
        asking ??= ask().finally(() => {
          asking = undefined;
        });
        await asking;
      }
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let job = await nextBatched(); job; job = await nextBatched()) {
          await batched.uploader.upload(await openAsBlob(join(dir, job.name)), {
            filename: `batched-${job.name}`,
            contentType: 'application/octet-stream',
            created: job.created,
          });
        }
      }),
    );
    const libraryBatchSeconds = (performance.now() - t3) / 1000;
    // PutObject again, last: how much the machine's speed moved during the run.
    const putObjectAfterSeconds = await putObjects();
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
      putObjectAfterSeconds: Number(putObjectAfterSeconds.toFixed(2)),
      librarySingleSeconds: Number(librarySingleSeconds.toFixed(2)),
      libraryBatchSeconds: Number(libraryBatchSeconds.toFixed(2)),
      cliFilesPerSecond: Math.round(FILES / cliSeconds),
      putObjectFilesPerSecond: Math.round(FILES / putObjectSeconds),
      ratio: Number((putObjectSeconds / cliSeconds).toFixed(2)),
      /** PutObject against the library with one POST /uploads a file (no CLI). */
      librarySingleRatio: Number((putObjectSeconds / librarySingleSeconds).toFixed(2)),
      /** PutObject against the library asking in batches of 100, as the CLI does (no CLI). */
      libraryBatchRatio: Number((putObjectSeconds / libraryBatchSeconds).toFixed(2)),
      /** The same PutObject run, first and last: the machine's drift during the run. */
      putObjectDrift: Number((putObjectAfterSeconds / putObjectSeconds).toFixed(2)),
      loadAverage: loadavg().map((n) => Number(n.toFixed(1))),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
    await started?.stop();
  }
};
