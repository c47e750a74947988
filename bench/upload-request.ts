import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { findRunningLocalStack } from '../scripts/lib/local-stack.ts';
import { signInUser } from '../scripts/lib/users.ts';
import { openDatabase } from '../shared/adapters/db/connect.ts';
import { FileRepository } from '../shared/adapters/file-repository.ts';
import { presignUpload } from '../shared/adapters/presign.ts';
import { uploadKey } from '../shared/domain/keys.ts';

const CONCURRENCY = 8;
const REQUESTS = 160;
const SIZE = 100 * 1024;

/** Runs `call` `requests` times, CONCURRENCY at once; the p50 and p90 of one call in ms. */
const timed = async (call: (i: number) => Promise<void>, requests = REQUESTS) => {
  // A first round not counted: cold functions and connections.
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => call(-1 - i)));
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < requests; i = next++) {
        const t = performance.now();
        await call(i);
        times.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.floor(q * (times.length - 1))] ?? 0);
  return { p50_ms: at(0.5), p90_ms: at(0.9), per_s: Math.round(requests / seconds) };
};

const expect = async (response: Promise<Response>, status: number): Promise<void> => {
  const answer = await response;
  const text = await answer.text();
  if (answer.status !== status)
    throw new Error(`Expected ${status}, got ${answer.status}: ${text}`);
};

/**
 * `upload-request`: where the time of one `POST /uploads` goes on the local stack (started by
 * `npm start`), layer by layer, each at the same concurrency as cli-bulk: API Gateway alone
 * (`GET /health`, a mock integration); API Gateway and the token authorizer's Lambda (a forged
 * token, different each time so no cached decision answers); API Gateway, the cached authorizer
 * and the upload function without the database (a body it refuses); the whole request; and
 * apart, in this process, the function's two statements on the same database and its presign,
 * and a PutObject of 100 KB for scale.
 */
export const benchUploadRequest = async () => {
  const stack = await findRunningLocalStack();
  if (!stack) throw new Error('upload-request needs the stack of `npm start` running');
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const cognito = new CognitoIdentityProviderClient({
    endpoint: stack.endpoint,
    region: stack.region,
    credentials,
  });
  const token = await signInUser(
    cognito,
    stack,
    `bench-upload-request-${Date.now()}@syncflow.local`,
    'Bench-upload-request-1!',
  );
  const uploads = `${stack.restUrl}uploads`;
  const post = (body: unknown, auth: string) =>
    fetch(uploads, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const valid = { filename: 'a.bin', contentType: 'application/octet-stream', size: SIZE };

  const gateway = await timed(() => expect(fetch(`${stack.restUrl}health`), 200));
  const authorizer = await timed((i) => expect(post(valid, `forged.${i}.${Date.now()}`), 401));
  const refused = await timed(() => expect(post({}, token), 400));
  const whole = await timed(() => expect(post(valid, token), 201));
  // The same files 100 to a request, as a user of its own (16 batches stay below the local
  // stage's 2,000 open uploads a user).
  const batchToken = await signInUser(
    cognito,
    stack,
    `bench-upload-request-batch-${Date.now()}@syncflow.local`,
    'Bench-upload-request-1!',
  );
  const batchOf100 = await timed(async () => {
    const answer = await fetch(`${uploads}/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${batchToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files: Array.from({ length: 100 }, () => valid) }),
    });
    const text = await answer.text();
    if (answer.status !== 200) throw new Error(`Expected 200, got ${answer.status}: ${text}`);
  }, 8);

  const handle = await openDatabase({ driver: 'pg', connectionString: stack.databaseUrl });
  const repository = new FileRepository(handle.db);
  const owner = `bench-${Date.now()}`;
  const s3 = new S3Client({
    endpoint: stack.endpoint,
    region: stack.region,
    credentials,
    forcePathStyle: true,
  });
  const bucket = stack.outputs.BucketName ?? '';
  try {
    const newFile = () => {
      const fileId = crypto.randomUUID();
      return {
        fileId,
        ownerId: owner,
        filename: 'a.bin',
        contentType: 'application/octet-stream',
        size: SIZE,
        checksumSha256: null,
        bucket,
        key: uploadKey(owner, fileId, 'other'),
        uploadExpiresAt: new Date(Date.now() + 900_000),
      };
    };
    const limits = () => ({ perMinute: 1_000_000, pendingCap: 1_000_000, now: new Date() });
    // What POST /uploads did before: count, then insert.
    const twoStatements = await timed(async () => {
      await repository.countRequest(owner, 'upload', new Date(), 2000);
      await repository.createPending(newFile());
    });
    // What it does now: both in one statement.
    const oneStatement = await timed(async () => {
      await repository.createPendingBatch(owner, [newFile()], limits());
    });
    const hundredInOneStatement = await timed(async () => {
      await repository.createPendingBatch(owner, Array.from({ length: 100 }, newFile), limits());
    }, 16);
    const presign = await timed(async () => {
      await presignUpload(s3, {
        bucket,
        key: `bench/upload-request/${crypto.randomUUID()}`,
        contentType: 'application/octet-stream',
        size: SIZE,
        expiresInSeconds: 900,
      });
    });
    const body = Buffer.alloc(SIZE, 7);
    const putObject = await timed(async (i) => {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: `bench/upload-request/${i}`, Body: body }),
      );
    });
    // Leaves no open uploads behind to count against anyone (the owner is a made-up one).
    await handle.db.query('DELETE FROM files WHERE owner_id = $1', [owner]);
    return {
      name: 'upload-request',
      concurrency: CONCURRENCY,
      requests: REQUESTS,
      gateway,
      gatewayAndAuthorizer: authorizer,
      gatewayAndFunction: refused,
      wholeRequest: whole,
      batchOf100Request: batchOf100,
      databaseTwoStatements: twoStatements,
      databaseOneStatement: oneStatement,
      database100InOneStatement: hundredInOneStatement,
      presignInProcess: presign,
      putObject,
    };
  } finally {
    await handle.close();
  }
};
