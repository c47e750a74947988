import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { database } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';
import { documented } from '../../support/openapi.ts';

stubFunctionEnv({
  BUCKET_NAME: 'uploads-bucket',
  MAX_UPLOAD_BYTES: String(64 * 1024 ** 2),
  UPLOAD_URL_TTL_SECONDS: '900',
  UPLOADS_PER_MINUTE: '1000',
  MAX_PENDING_UPLOADS: '5',
  MULTIPART_THRESHOLD_BYTES: String(8 * 1024 ** 2),
  MULTIPART_MIN_PART_BYTES: String(5 * 1024 ** 2),
  CORS_ORIGINS: 'https://console.example',
});
const s3 = mockClient(S3Client);

const { handler } = await import('../../../functions/upload-api.ts');
const OWNER = 'user-1';

/** Calls the handler and checks its response against docs/openapi.yaml. */
const call = async (body: string | null, ownerId: string | null = OWNER, path = '/uploads') => {
  const event = apiEvent({
    method: 'POST',
    path,
    body,
    ...(ownerId !== null && { ownerId }),
  });
  return documented(event, await handler(event, lambdaContext('upload-api')));
};

describe('POST /uploads', () => {
  beforeAll(async () => {
    await migrate((await database()).db);
  });

  it('records the file and returns a presigned POST pinned to key, type and size', async () => {
    const response = await call(
      JSON.stringify({ filename: 'Zoë 🌸.jpg', contentType: 'image/jpeg', size: 2048 }),
    );
    expect(response.statusCode).toBe(201);
    const body = JSON.parse(response.body);
    expect(body.upload.method).toBe('POST');
    expect(body.upload.url).toContain('uploads-bucket');
    expect(body.upload.fields).toMatchObject({
      key: `uploads/image/${OWNER}/${body.fileId}`,
      'Content-Type': 'image/jpeg',
    });
    const policy = JSON.parse(Buffer.from(body.upload.fields.Policy, 'base64').toString('utf8'));
    expect(policy.conditions).toContainEqual(['content-length-range', 2048, 2048]);
    expect(policy.conditions).toContainEqual(['eq', '$Content-Type', 'image/jpeg']);
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const record = await (await import('#shared/adapters/db/instance.ts'))
      .fileRepository()
      .then((r) => r.get(body.fileId));
    expect(record).toMatchObject({
      status: 'PENDING_UPLOAD',
      filename: 'Zoë 🌸.jpg',
      ownerId: OWNER,
    });
    expect(record?.uploadExpiresAt?.toISOString()).toBe(body.expiresAt);
  });

  it('gives a shorter-lived URL when asked, never a longer one than the stage allows', async () => {
    const before = Date.now();
    const short = await call(
      JSON.stringify({
        filename: 'a.txt',
        contentType: 'text/plain',
        size: 1,
        expiresInSeconds: 60,
      }),
      'short-lived',
    );
    expect(short.statusCode).toBe(201);
    const { expiresAt, upload } = JSON.parse(short.body);
    expect(new Date(expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(new Date(expiresAt).getTime()).toBeGreaterThanOrEqual(before + 59_000);
    const policy = JSON.parse(Buffer.from(upload.fields.Policy, 'base64').toString('utf8'));
    expect(new Date(policy.expiration).getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    const long = await call(
      JSON.stringify({
        filename: 'a.txt',
        contentType: 'text/plain',
        size: 1,
        expiresInSeconds: 901,
      }),
      'short-lived',
    );
    expect(long.statusCode).toBe(400);
    expect(JSON.parse(long.body).error.message).toMatch(/expiresInSeconds: must be at most 900/);
  });

  it('answers 429 with Retry-After once a user leaves too many uploads open', async () => {
    const body = JSON.stringify({ filename: 'a.txt', contentType: 'text/plain', size: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(body, 'hoarder')).statusCode);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    const refused = await call(body, 'hoarder');
    expect(refused.headers?.['retry-after']).toBe('60');
    expect(JSON.parse(refused.body).error).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringMatching(/5 of your uploads are still waiting/),
    });
    // Nothing was recorded for the refused requests, and other users go on.
    const repository = await (await import('#shared/adapters/db/instance.ts')).fileRepository();
    const open = await repository.list({ ownerId: 'hoarder', sort: '-createdAt', limit: 100 });
    expect(open.items).toHaveLength(5);
    expect((await call(body, 'someone-else')).statusCode).toBe(201);
  });

  it.each([
    ['malformed JSON', '{"filename":', 400, 'BAD_REQUEST'],
    [
      'a wrong type',
      JSON.stringify({ filename: 1, contentType: 'image/jpeg', size: 1 }),
      400,
      'BAD_REQUEST',
    ],
    [
      'an oversized file',
      JSON.stringify({ filename: 'a', contentType: 'image/jpeg', size: 2 ** 27 }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a refused type',
      JSON.stringify({ filename: 'a', contentType: 'text/html', size: 1 }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'an oversized body',
      JSON.stringify({ filename: 'a'.repeat(20_000), contentType: 'text/plain', size: 1 }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['no body', null, 400, 'BAD_REQUEST'],
  ])('answers %s with a 4xx JSON error', async (_name, body, status, code) => {
    const response = await call(body);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error).toMatchObject({ code, message: expect.any(String) });
  });

  it('answers a multipart session at the threshold, with a full-object CRC64NVME upload in S3', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    const size = 8 * 1024 ** 2 + 1;
    const response = await call(
      JSON.stringify({ filename: 'big.bin', contentType: 'application/octet-stream', size }),
    );
    expect(response.statusCode).toBe(201);
    const body = JSON.parse(response.body);
    expect(body.upload).toEqual({
      method: 'MULTIPART',
      uploadId: 'upload-1',
      partSize: 5 * 1024 ** 2,
      partCount: 2,
      checksumAlgorithm: 'CRC64NVME',
    });
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'uploads-bucket',
      Key: `uploads/other/${OWNER}/${body.fileId}`,
      ContentType: 'application/octet-stream',
      ChecksumAlgorithm: 'CRC64NVME',
      ChecksumType: 'FULL_OBJECT',
    });
  });

  it('names an allowed origin in its CORS headers, on successes and errors alike', async () => {
    const event = (body: string) =>
      apiEvent({
        method: 'POST',
        path: '/uploads',
        body,
        ownerId: OWNER,
        headers: { Origin: 'https://console.example' },
      });
    const ok = await handler(
      event(JSON.stringify({ filename: 'a', contentType: 'text/plain', size: 1 })),
      lambdaContext('upload-api'),
    );
    const bad = await handler(event('{'), lambdaContext('upload-api'));
    for (const response of [ok, bad]) {
      expect(response.headers?.['access-control-allow-origin']).toBe('https://console.example');
    }
    expect(bad.statusCode).toBe(400);
  });

  it('refuses a request with no authenticated user', async () => {
    const response = await call(
      JSON.stringify({ filename: 'a', contentType: 'text/plain', size: 1 }),
      null,
    );
    expect(response.statusCode).toBe(401);
  });
});

describe('POST /uploads/batch', () => {
  const batch = (files: unknown, ownerId: string | null = OWNER) =>
    call(JSON.stringify({ files }), ownerId, '/uploads/batch');
  const repository = async () => (await import('#shared/adapters/db/instance.ts')).fileRepository();

  beforeAll(async () => {
    await migrate((await database()).db);
  });

  it('answers each file in order: its upload, or the error POST /uploads would give it', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-b' });
    const response = await batch(
      [
        { filename: 'Zoë 🌸.jpg', contentType: 'image/jpeg', size: 2048 },
        { filename: 'page.html', contentType: 'text/html', size: 1 },
        { filename: 'huge.bin', contentType: 'application/octet-stream', size: 2 ** 27 },
        { contentType: 'text/plain', size: 1 },
        { filename: 'big.bin', contentType: 'application/octet-stream', size: 8 * 1024 ** 2 },
        { filename: 'sales.csv', contentType: 'text/csv', size: 10, dataset: 'Q4 Sales' },
      ],
      'batcher',
    );
    expect(response.statusCode).toBe(200);
    const { items } = JSON.parse(response.body);
    expect(items).toHaveLength(6);
    expect(items[0].upload.method).toBe('POST');
    expect(items[0].upload.fields).toMatchObject({
      key: `uploads/image/batcher/${items[0].fileId}`,
      'Content-Type': 'image/jpeg',
    });
    const policy = JSON.parse(
      Buffer.from(items[0].upload.fields.Policy, 'base64').toString('utf8'),
    );
    expect(policy.conditions).toContainEqual(['content-length-range', 2048, 2048]);
    expect(items[1].error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(items[2].error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(items[3].error).toEqual({ code: 'BAD_REQUEST', message: 'filename: is required' });
    expect(items[4].upload).toMatchObject({ method: 'MULTIPART', uploadId: 'upload-b' });
    expect(items[5]).toMatchObject({ kind: 'tabular', dataset: 'q4_sales' });
    // The valid files, and only they, are recorded, with the expiry each was answered.
    const repo = await repository();
    const open = await repo.list({ ownerId: 'batcher', sort: 'filename', limit: 100 });
    expect(open.items.map((f) => f.filename).sort()).toEqual([
      'Zoë 🌸.jpg',
      'big.bin',
      'sales.csv',
    ]);
    for (const item of [items[0], items[4], items[5]]) {
      const record = await repo.get(item.fileId);
      expect(record?.status).toBe('PENDING_UPLOAD');
      expect(record?.uploadExpiresAt?.toISOString()).toBe(item.expiresAt);
    }
  });

  it('counts each file against the open-upload limit and refuses a batch that passes it whole', async () => {
    const file = { filename: 'a.txt', contentType: 'text/plain', size: 1 };
    expect((await batch([file, file, file], 'batch-hoarder')).statusCode).toBe(200);
    const refused = await batch([file, file, file], 'batch-hoarder');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers?.['retry-after']).toBe('60');
    expect(JSON.parse(refused.body).error).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringMatching(
        /3 of your uploads are still waiting .* a batch of 3 does not fit \(2 would\)/,
      ),
    });
    const repo = await repository();
    const listed = () => repo.list({ ownerId: 'batch-hoarder', sort: '-createdAt', limit: 100 });
    expect((await listed()).items).toHaveLength(3);
    // What fits still goes through, and then a single request is refused as before.
    expect((await batch([file, file], 'batch-hoarder')).statusCode).toBe(200);
    expect((await call(JSON.stringify(file), 'batch-hoarder')).statusCode).toBe(429);
    expect((await listed()).items).toHaveLength(5);
  });

  it('records nothing and counts nothing when every file is refused', async () => {
    const response = await batch(
      [{ filename: 'x.html', contentType: 'text/html', size: 1 }],
      'all-bad',
    );
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).items[0].error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(
      (await (await repository()).countRequest('all-bad', 'upload', new Date(), 5)).count,
    ).toBe(1);
  });

  it.each([
    ['a body that is not an object', '[]', 400],
    ['no files', '{"files":[]}', 400],
    ['files that are not a list', '{"files":{}}', 400],
    ['an unknown field', '{"files":[],"mode":"all"}', 400],
    [
      'more than 100 files',
      JSON.stringify({
        files: Array(101).fill({ filename: 'a', contentType: 'text/plain', size: 1 }),
      }),
      400,
    ],
    ['an oversized body', JSON.stringify({ files: [{ filename: 'a'.repeat(500_000) }] }), 413],
  ])('refuses %s as a whole', async (_name, body, status) => {
    const response = await call(body, OWNER, '/uploads/batch');
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error.message).toEqual(expect.any(String));
  });

  it('refuses a batch with no authenticated user', async () => {
    const response = await batch([{ filename: 'a', contentType: 'text/plain', size: 1 }], null);
    expect(response.statusCode).toBe(401);
  });
});

describe('POST /uploads per-minute limit', () => {
  it('answers 429 with Retry-After once a user asks too often in one minute', async () => {
    // A handler of its own, read with a small per-minute limit (the one above allows 1000)
    // and room for many open uploads, so only the per-minute limit can refuse.
    vi.resetModules();
    vi.stubEnv('UPLOADS_PER_MINUTE', '3');
    vi.stubEnv('MAX_PENDING_UPLOADS', '100');
    const instance = await import('#shared/adapters/db/instance.ts');
    await migrate((await instance.database()).db);
    const limited = (await import('../../../functions/upload-api.ts')).handler;
    const body = JSON.stringify({ filename: 'a.txt', contentType: 'text/plain', size: 1 });
    const ask = async (ownerId: string) => {
      const event = apiEvent({ method: 'POST', path: '/uploads', body, ownerId });
      return documented(event, await limited(event, lambdaContext('upload-api')));
    };
    // Windows are whole minutes: a run that straddles one boundary sees at most 2 × 3 accepted.
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof ask>> | undefined;
    while (!refused && statuses.length < 7) {
      const response = await ask('hasty');
      statuses.push(response.statusCode);
      if (response.statusCode !== 201) refused = response;
    }
    expect(statuses.slice(0, -1).every((status) => status === 201)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(refused?.statusCode).toBe(429);
    const retryAfter = Number(refused?.headers?.['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(JSON.parse(refused?.body ?? '{}').error).toEqual({
      code: 'TOO_MANY_REQUESTS',
      message: `At most 3 upload requests a minute are accepted per user; try again in ${retryAfter} s`,
    });
    // Another user's minute is their own.
    expect((await ask('patient')).statusCode).toBe(201);
  });
});
