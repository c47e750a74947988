import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

stubFunctionEnv({
  DOWNLOAD_URL_TTL_SECONDS: '300',
  CURSOR_KEY: 'unit-test-cursor-key',
  EVENT_BUS_NAME: 'files-bus',
});
const s3 = mockClient(S3Client);
const eventBridge = mockClient(EventBridgeClient);
const { handler } = await import('../../../functions/files-api.ts');

const get = (fileId: string, ownerId: string) =>
  handler(
    apiEvent({ method: 'GET', path: `/files/${fileId}`, ownerId, pathParameters: { fileId } }),
    lambdaContext('files-api'),
  );

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
    key: uploadKey(ownerId, fileId),
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
            },
          ]
        : [],
    reason: status === 'REJECTED' ? 'The bytes are HTML' : null,
  });
  return fileId;
};

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
    handler(
      apiEvent({ method: 'GET', path: '/files', ownerId, query }),
      lambdaContext('files-api'),
    );

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

describe('DELETE /files/{fileId}', () => {
  const remove = (fileId: string, ownerId: string) =>
    handler(
      apiEvent({ method: 'DELETE', path: `/files/${fileId}`, ownerId, pathParameters: { fileId } }),
      lambdaContext('files-api'),
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
      `uploads/alice/${fileId}@v1`,
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
