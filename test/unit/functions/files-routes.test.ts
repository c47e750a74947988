import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  NotFound,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';
import { documented } from '../../support/openapi.ts';

stubFunctionEnv({
  DOWNLOAD_URL_TTL_SECONDS: '300',
  CURSOR_KEY: 'unit-test-cursor-key',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Video',
  EVENT_BUS_NAME: 'files-bus',
  REPROCESS_PER_MINUTE: '30',
  PROCESSOR_TIMEOUT_SECONDS: '300',
  INGEST_VISIBILITY_TIMEOUT_SECONDS: '1800',
  MAX_RECEIVE_COUNT: '3',
  INGEST_RETENTION_SECONDS: '345600',
  SWEEP_GRACE_SECONDS: '300',
});
const s3 = mockClient(S3Client);
const eventBridge = mockClient(EventBridgeClient);
// The files routes are served by two functions, as API Gateway routes them: reads by files-api,
// DELETE and reprocess by file-actions.
const filesApi = (await import('../../../functions/files-api.ts')).handler;
const fileActions = (await import('../../../functions/file-actions.ts')).handler;

const get = (fileId: string, ownerId: string) =>
  call(apiEvent({ method: 'GET', path: `/files/${fileId}`, ownerId, pathParameters: { fileId } }));

const create = async (
  ownerId: string,
  filename: string,
  status: 'PROCESSED' | 'REJECTED',
  contentType: string,
) => {
  const repository = await fileRepository();
  const fileId = randomUUID();
  await repository.createPending({
    fileId,
    ownerId,
    filename,
    contentType,
    size: 10,
    checksumSha256: null,
    bucket: 'uploads-bucket',
    key: uploadKey(ownerId, fileId, 'image'),
    uploadExpiresAt: new Date(Date.now() + 900_000),
  });
  await repository.startProcessing(fileId, {
    objectVersion: 'v1',
    versionId: 'v1',
    attempts: 1,
    deadline: new Date(Date.now() + 300_000),
  });
  await repository.finish(fileId, {
    status,
    objectVersion: 'v1',
    size: 10,
    contentType,
    sha256: 'a'.repeat(64),
    metadata: {},
    derivatives:
      status === 'PROCESSED' && contentType.startsWith('image/')
        ? [
            {
              name: 'thumbnail.webp',
              key: `derived/${ownerId}/${fileId}/thumbnail.webp`,
              contentType: 'image/webp',
              width: 256,
              height: 192,
              size: 5,
              versionId: 'thumb-v3',
              sourceVersionId: 'v1',
            },
          ]
        : [],
    reason: status === 'REJECTED' ? 'The bytes are HTML' : null,
  });
  return fileId;
};

/** Calls the function API Gateway routes the request to, and checks its response against docs/openapi.yaml. */
const call = async (event: ReturnType<typeof apiEvent>) =>
  documented(
    event,
    event.httpMethod === 'GET'
      ? await filesApi(event, lambdaContext('files-api'))
      : await fileActions(event, lambdaContext('file-actions')),
  );

const query = (url: string) => new URL(url).searchParams;

describe('GET /files/{fileId}', () => {
  beforeAll(async () => {
    await migrate((await database()).db);
  });

  it('returns the record with short-lived URLs that serve an image inline under its real name', async () => {
    const fileId = await create('alice', 'Été 🌸 "photo".jpg', 'PROCESSED', 'image/jpeg');
    const response = await get(fileId, 'alice');
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({
      fileId,
      status: 'PROCESSED',
      filename: 'Été 🌸 "photo".jpg',
      contentType: 'image/jpeg',
    });
    const original = query(body.download.url);
    expect(original.get('X-Amz-Expires')).toBe('300');
    // The URL names the version the processor checked: nothing sent under the key since.
    expect(original.get('versionId')).toBe('v1');
    expect(body.versionId).toBe('v1');
    expect(query(body.derivatives[0].url).get('versionId')).toBe('thumb-v3');
    expect(original.get('response-content-type')).toBe('image/jpeg');
    expect(original.get('response-content-disposition')).toBe(
      `inline; filename="_t_ _ _photo_.jpg"; filename*=UTF-8''%C3%89t%C3%A9%20%F0%9F%8C%B8%20%22photo%22.jpg`,
    );
    expect(body.derivatives).toEqual([
      expect.objectContaining({
        name: 'thumbnail.webp',
        width: 256,
        height: 192,
        url: expect.stringContaining('thumbnail.webp'),
      }),
    ]);
  });

  it('serves anything a browser could run, or anything not processed, as an opaque attachment', async () => {
    const html = await create('alice', 'page.html', 'REJECTED', 'text/html');
    const rejected = JSON.parse((await get(html, 'alice')).body);
    expect(query(rejected.download.url).get('response-content-type')).toBe(
      'application/octet-stream',
    );
    expect(query(rejected.download.url).get('response-content-disposition')).toMatch(
      /^attachment;/,
    );
    const svg = await create('alice', 'logo.svg', 'PROCESSED', 'image/svg+xml');
    const processedSvg = JSON.parse((await get(svg, 'alice')).body);
    expect(query(processedSvg.download.url).get('response-content-disposition')).toMatch(
      /^attachment;/,
    );
  });

  it('offers only the version the processor took: none while pending or queued, then that one', async () => {
    const repository = await fileRepository();
    const fileId = randomUUID();
    await repository.createPending({
      fileId,
      ownerId: 'alice',
      filename: 'waiting.jpg',
      contentType: 'image/jpeg',
      size: 10,
      checksumSha256: null,
      bucket: 'uploads-bucket',
      key: uploadKey('alice', fileId, 'image'),
      uploadExpiresAt: new Date(Date.now() + 900_000),
    });
    const pending = JSON.parse((await get(fileId, 'alice')).body);
    expect(pending).toMatchObject({ status: 'PENDING_UPLOAD', download: null, versionId: null });
    await repository.markUploaded([{ fileId, ownerId: 'alice' }]);
    const uploaded = JSON.parse((await get(fileId, 'alice')).body);
    expect(uploaded).toMatchObject({ status: 'UPLOADED', download: null });
    await repository.startProcessing(fileId, {
      objectVersion: 'v5',
      versionId: 'v5',
      attempts: 1,
      deadline: new Date(Date.now() + 60_000),
    });
    const processing = JSON.parse((await get(fileId, 'alice')).body);
    expect(query(processing.download.url).get('versionId')).toBe('v5');
    expect(query(processing.download.url).get('response-content-disposition')).toMatch(
      /^attachment;/,
    );
  });

  it("answers another user's file exactly like one that does not exist", async () => {
    const fileId = await create('alice', 'secret.jpg', 'PROCESSED', 'image/jpeg');
    const other = await get(fileId, 'mallory');
    const missing = await get(randomUUID(), 'mallory');
    expect(other.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(other.body).error.code).toBe('NOT_FOUND');
    expect((await get('../../etc/passwd', 'mallory')).statusCode).toBe(404);
  });
});

describe('GET /files', () => {
  const list = (ownerId: string, query: Record<string, string>) =>
    call(apiEvent({ method: 'GET', path: '/files', ownerId, query }));

  it("pages through the caller's files only, with an opaque cursor", async () => {
    const owner = `lister-${randomUUID().slice(0, 8)}`;
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++)
      ids.add(await create(owner, `f${i}.txt`, 'PROCESSED', 'text/plain'));
    await create(`${owner}-other`, 'not-mine.txt', 'PROCESSED', 'text/plain');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await list(owner, { limit: '2', ...(cursor && { cursor }) });
      expect(response.statusCode).toBe(200);
      const body = JSON.parse(response.body) as {
        items: { fileId: string }[];
        nextCursor: string | null;
      };
      seen.push(...body.items.map((item) => item.fileId));
      cursor = body.nextCursor;
    } while (cursor);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(5);
  });

  it("names the thumbnail's version in the list, as GET /files/{fileId} does", async () => {
    const owner = `thumbs-${randomUUID().slice(0, 8)}`;
    const fileId = await create(owner, 'flower.jpg', 'PROCESSED', 'image/jpeg');
    const response = await list(owner, {});
    expect(response.statusCode).toBe(200);
    const [item] = JSON.parse(response.body).items as { fileId: string; thumbnailUrl: string }[];
    expect(item?.fileId).toBe(fileId);
    const url = new URL(item?.thumbnailUrl ?? '');
    expect(url.pathname).toMatch(new RegExp(`/derived/${owner}/${fileId}/thumbnail\\.webp$`));
    expect(url.searchParams.get('versionId')).toBe('thumb-v3');
  });

  it('answers a tampered cursor and bad parameters with 400 JSON errors', async () => {
    const tampered = await list('alice', { cursor: 'eyJ4IjoxfQ.AAAA' });
    expect(tampered.statusCode).toBe(400);
    expect(JSON.parse(tampered.body).error).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/cursor/),
    });
    expect((await list('alice', { limit: '1000' })).statusCode).toBe(400);
    expect((await list('alice', { sort: 'size; DROP TABLE files' })).statusCode).toBe(400);
  });
});

describe('hostile requests to the files routes', () => {
  const list = (query: Record<string, string>) =>
    call(apiEvent({ method: 'GET', path: '/files', ownerId: 'alice', query }));

  it.each<[string, Record<string, string>, RegExp]>([
    ['a huge limit', { limit: '1000000000000000000000' }, /limit/],
    ['a negative limit', { limit: '-1' }, /limit/],
    ['a fractional limit', { limit: '2.5' }, /limit/],
    ['a limit that is not a number', { limit: '20; DROP TABLE files' }, /limit/],
    ['an unknown sort key', { sort: 'ownerId' }, /sort/],
    ['two sort keys', { sort: '-createdAt,size' }, /sort/],
    ['an unknown status', { status: "PROCESSED' OR '1'='1" }, /status/],
    ['deleted files', { status: 'DELETED' }, /status: deleted files are not listed/],
    ['a date that is not one', { createdFrom: 'yesterday' }, /createdFrom/],
    ['an unknown parameter', { ownerId: 'mallory' }, /ownerId/],
    ['an overlong q', { q: 'x'.repeat(300) }, /q/],
    ['a garbage cursor', { cursor: '%00%ff\u0000' }, /cursor/],
    ['a huge cursor', { cursor: 'A'.repeat(20_000) }, /cursor/],
  ])('answers %s with a 400 naming the parameter', async (_name, query, names) => {
    const response = await list(query);
    expect(response.statusCode).toBe(400);
    const { error } = JSON.parse(response.body);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(names);
  });

  it('takes SQL and LIKE metacharacters in q literally', async () => {
    for (const q of ["' OR 1=1 --", '%', '_', '\\', '"; DELETE FROM files; --']) {
      const response = await list({ q });
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body).items).toEqual([]);
    }
  });

  it('answers a malformed or foreign file id with the same 404', async () => {
    for (const fileId of ['not-a-uuid', "1' OR '1'='1", '%2e%2e%2f', 'a'.repeat(5000)]) {
      const response = await get(fileId, 'alice');
      expect(response.statusCode).toBe(404);
      expect(JSON.parse(response.body).error.code).toBe('NOT_FOUND');
    }
  });
});

describe('DELETE /files/{fileId}', () => {
  const remove = (fileId: string, ownerId: string) =>
    call(
      apiEvent({ method: 'DELETE', path: `/files/${fileId}`, ownerId, pathParameters: { fileId } }),
    );

  it('removes every version of the original and its derivatives, marks DELETED, publishes once', async () => {
    s3.reset();
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => ({
      Versions: [
        {
          Key: input.Prefix.startsWith('uploads/') ? input.Prefix : `${input.Prefix}thumbnail.webp`,
          VersionId: 'v1',
        },
      ],
      DeleteMarkers: [],
      IsTruncated: false,
    }));
    s3.on(DeleteObjectsCommand).resolves({});
    const fileId = await create('alice', 'gone.jpg', 'PROCESSED', 'image/jpeg');

    expect((await remove(fileId, 'mallory')).statusCode).toBe(404);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);

    expect((await remove(fileId, 'alice')).statusCode).toBe(204);
    const deletedKeys = s3
      .commandCalls(DeleteObjectsCommand)
      .flatMap((call) => call.args[0].input.Delete?.Objects ?? [])
      .map((o) => `${o.Key}@${o.VersionId}`);
    expect(deletedKeys).toEqual([
      `uploads/image/alice/${fileId}@v1`,
      `derived/alice/${fileId}/thumbnail.webp@v1`,
    ]);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('DELETED');
    expect((await get(fileId, 'alice')).statusCode).toBe(404);

    expect((await remove(fileId, 'alice')).statusCode).toBe(204);
    const published = eventBridge
      .commandCalls(PutEventsCommand)
      .map((c) => c.args[0].input.Entries?.[0]?.DetailType);
    expect(published).toEqual(['file.deleted']);
  });
});

describe('DELETE /files/{fileId}, when a step fails', () => {
  const remove = (fileId: string, ownerId: string) =>
    call(
      apiEvent({ method: 'DELETE', path: `/files/${fileId}`, ownerId, pathParameters: { fileId } }),
    );

  it('finishes on a retry what a failed call left, publishing file.deleted exactly once', async () => {
    s3.reset();
    eventBridge.reset();
    // The first call cannot reach S3; the second can, but EventBridge refuses; the third ends it.
    s3.on(ListObjectVersionsCommand)
      .rejectsOnce(new Error('S3 unreachable'))
      .resolves({ Versions: [], DeleteMarkers: [] });
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(new Error('EventBridge unreachable'))
      .resolves({ FailedEntryCount: 0 });
    const fileId = await create('alice', 'twice.jpg', 'PROCESSED', 'image/jpeg');

    expect((await remove(fileId, 'alice')).statusCode).toBe(500);
    expect((await remove(fileId, 'alice')).statusCode).toBe(500);
    expect((await remove(fileId, 'alice')).statusCode).toBe(204);
    expect((await remove(fileId, 'alice')).statusCode).toBe(204);
    const published = eventBridge
      .commandCalls(PutEventsCommand)
      .map((c) => c.args[0].input.Entries?.[0]);
    expect(published.map((e) => e?.DetailType)).toEqual(['file.deleted', 'file.deleted']);
    const detail = JSON.parse(published[1]?.Detail ?? '{}');
    expect(detail).toMatchObject({ fileId, status: 'DELETED', sha256: 'a'.repeat(64) });
    // What is left of the record: ids, status, timestamps.
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'DELETED',
      publishedStatus: 'DELETED',
      filename: '',
      sha256: null,
      metadata: {},
      derivatives: [],
      reason: null,
    });
  });
});

describe('POST /files/{fileId}/reprocess', () => {
  const reprocess = (fileId: string, ownerId: string) =>
    call(
      apiEvent({
        method: 'POST',
        path: `/files/${fileId}/reprocess`,
        ownerId,
        pathParameters: { fileId },
      }),
    );

  it('puts the file back to UPLOADED and queues the version it checked for the processor', async () => {
    s3.reset();
    eventBridge.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"abc"' });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    const fileId = await create('alice', 'again.jpg', 'REJECTED', 'image/jpeg');

    const response = await reprocess(fileId, 'alice');
    expect(response.statusCode).toBe(202);
    const body = JSON.parse(response.body);
    expect(body).toEqual({ fileId, status: 'UPLOADED', reprocessId: expect.any(String) });
    // Published on the bus, whose rule sends it to the processor's queue.
    const [put] = eventBridge.commandCalls(PutEventsCommand);
    const entry = put?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: 'files-bus',
      Source: 'syncflow.files',
      DetailType: 'file.reprocess-requested',
    });
    expect(JSON.parse(entry?.Detail ?? '')).toEqual({
      type: 'syncflow.reprocess',
      reprocessId: body.reprocessId,
      bucket: 'uploads-bucket',
      key: `uploads/image/alice/${fileId}`,
      kind: 'image',
      versionId: 'v1',
      etag: '"abc"',
    });
    // The version asked about is the checked one, whatever is current under the key.
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input.VersionId).toBe('v1');
    expect((await (await fileRepository()).get(fileId))?.status).toBe('UPLOADED');
  });

  it("refuses another user's file, one not uploaded, one being processed and one whose object is gone", async () => {
    s3.reset();
    eventBridge.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1' });
    const repository = await fileRepository();
    const done = await create('alice', 'mine.jpg', 'PROCESSED', 'image/jpeg');
    expect((await reprocess(done, 'mallory')).statusCode).toBe(404);

    const pending = randomUUID();
    await repository.createPending({
      fileId: pending,
      ownerId: 'alice',
      filename: 'later.txt',
      contentType: 'text/plain',
      size: 1,
      checksumSha256: null,
      bucket: 'uploads-bucket',
      key: uploadKey('alice', pending, 'image'),
      uploadExpiresAt: new Date(Date.now() + 900_000),
    });
    const notYet = await reprocess(pending, 'alice');
    expect(notYet.statusCode).toBe(409);
    expect(JSON.parse(notYet.body).error.message).toMatch(/not been uploaded/);

    await repository.startProcessing(pending, {
      objectVersion: 'v1',
      versionId: 'v1',
      attempts: 1,
      deadline: new Date(Date.now() + 300_000),
    });
    const busy = await reprocess(pending, 'alice');
    expect(busy.statusCode).toBe(409);
    expect(JSON.parse(busy.body).error.message).toMatch(/being processed/);

    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: {} }));
    const gone = await reprocess(done, 'alice');
    expect(gone.statusCode).toBe(409);
    expect(JSON.parse(gone.body).error.message).toMatch(/no longer in the bucket/);
    expect((await repository.get(done))?.status).toBe('PROCESSED');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('joins a reprocess already queued instead of queuing a second run', async () => {
    s3.reset();
    eventBridge.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"abc"' });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    const fileId = await create('joiner', 'once.jpg', 'PROCESSED', 'image/jpeg');
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await reprocess(fileId, 'joiner'));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => JSON.parse(a.body).reprocessId)).size).toBe(1);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('refuses a file queued for its first run, but takes a stuck one at once', async () => {
    s3.reset();
    eventBridge.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"abc"' });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    const repository = await fileRepository();
    const fileId = randomUUID();
    await repository.createPending({
      fileId,
      ownerId: 'alice',
      filename: 'queued.txt',
      contentType: 'text/plain',
      size: 1,
      checksumSha256: null,
      bucket: 'uploads-bucket',
      key: uploadKey('alice', fileId, 'image'),
      uploadExpiresAt: new Date(Date.now() + 900_000),
    });
    await repository.markUploaded([{ fileId, ownerId: 'alice' }]);
    const queued = await reprocess(fileId, 'alice');
    expect(queued.statusCode).toBe(409);
    expect(JSON.parse(queued.body).error.message).toMatch(/queued for processing already/);

    // Its run was cut short on the last delivery long ago (timeout or out of memory).
    await repository.startProcessing(fileId, {
      objectVersion: 'v1',
      versionId: 'v1',
      attempts: 3,
      deadline: new Date(Date.now() - 3_600_000),
    });
    const stuck = await reprocess(fileId, 'alice');
    expect(stuck.statusCode).toBe(202);
    expect(await repository.get(fileId)).toMatchObject({ status: 'UPLOADED', versionId: 'v1' });
  });

  it('takes a request back when it could not be sent, so the next one may try', async () => {
    s3.reset();
    eventBridge.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"abc"' });
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(new Error('EventBridge unreachable'))
      .resolves({ FailedEntryCount: 0 });
    const fileId = await create('alice', 'retry.jpg', 'REJECTED', 'image/jpeg');
    expect((await reprocess(fileId, 'alice')).statusCode).toBe(500);
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'REJECTED',
      reprocessId: null,
    });
    expect((await reprocess(fileId, 'alice')).statusCode).toBe(202);
  });

  it("answers 429 with Retry-After past the user's reprocess requests a minute", async () => {
    s3.reset();
    eventBridge.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"abc"' });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    const fileId = await create('hammer', 'busy.jpg', 'PROCESSED', 'image/jpeg');
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof reprocess>> | undefined;
    // 61 requests span two fixed windows at most, so one of them holds over 30.
    for (let i = 0; i < 61 && !limited; i++) {
      const response = await reprocess(fileId, 'hammer');
      statuses.push(response.statusCode);
      if (response.statusCode === 429) limited = response;
    }
    expect(limited).toBeDefined();
    expect(JSON.parse(limited?.body ?? '{}').error).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringMatching(/30 reprocess requests a minute/),
    });
    const retryAfter = Number(limited?.headers?.['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another user is not held back by this one.
    const other = await create('calm', 'calm.jpg', 'PROCESSED', 'image/jpeg');
    expect((await reprocess(other, 'calm')).statusCode).toBe(202);
  });
});
