import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
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
const call = async (body: string | null, ownerId: string | null = OWNER) => {
  const event = apiEvent({
    method: 'POST',
    path: '/uploads',
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
