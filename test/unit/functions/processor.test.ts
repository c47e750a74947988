import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { lambdaContext, objectCreatedEvent, sqsRecord } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';
import { HTML_PAGE, makeJpeg } from '../../support/images.ts';

stubFunctionEnv({
  EVENT_BUS_NAME: 'files-bus',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
  MAX_RECEIVE_COUNT: '3',
});

const s3 = mockClient(S3Client);
const eventBridge = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBClient);
const { handler } = await import('../../../functions/processor.ts');

const BUCKET = 'uploads-bucket';
const OWNER = 'owner-1';
const objects = new Map<string, Buffer>();

const upload = async (data: Buffer, contentType: string): Promise<string> => {
  const fileId = randomUUID();
  const key = uploadKey(OWNER, fileId);
  await (await fileRepository()).createPending({
    fileId,
    ownerId: OWNER,
    filename: 'x',
    contentType,
    size: data.length,
    checksumSha256: null,
    bucket: BUCKET,
    key,
  });
  objects.set(key, data);
  return fileId;
};

/** What DynamoDB answers Powertools when an idempotency record for the key is already stored. */
const idempotencyRecordExists = (
  status: 'COMPLETED' | 'INPROGRESS',
  extra: Record<string, { S: string } | { N: string }>,
) =>
  new ConditionalCheckFailedException({
    message: 'exists',
    $metadata: {},
    Item: {
      id: { S: 'any' },
      status: { S: status },
      expiration: { N: String(Math.floor(Date.now() / 1000) + 3600) },
      ...extra,
    },
  });

const sentEvents = () =>
  eventBridge.commandCalls(PutEventsCommand).map((call) => {
    const entry = call.args[0].input.Entries?.[0];
    return { type: entry?.DetailType, detail: JSON.parse(entry?.Detail ?? '{}') };
  });

describe('processor handler', () => {
  beforeAll(async () => {
    await migrate((await database()).db);
  });

  beforeEach(() => {
    s3.reset();
    eventBridge.reset();
    dynamo.reset();
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      const data = objects.get(input.Key);
      if (!data) throw new Error(`no such key ${input.Key}`);
      return { Body: Readable.from([data]), ContentLength: data.length, VersionId: 'v1' };
    });
    s3.on(PutObjectCommand).resolves({});
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(UpdateItemCommand).resolves({});
  });

  it('processes, rejects and fails records of one batch independently', async () => {
    const jpeg = await makeJpeg(1200, 800);
    const good = await upload(jpeg, 'image/jpeg');
    const html = await upload(HTML_PAGE, 'image/jpeg');
    const records = [
      sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, good), jpeg.length)),
      sqsRecord('this is not an S3 event'),
      sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, html), HTML_PAGE.length)),
    ];
    const response = await handler({ Records: records }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.messageId }]);

    const repository = await fileRepository();
    const processed = await repository.get(good);
    expect(processed).toMatchObject({
      status: 'PROCESSED',
      contentType: 'image/jpeg',
      size: jpeg.length,
    });
    expect(processed?.metadata.image).toMatchObject({ width: 1200, height: 800 });
    expect(processed?.derivatives.map((d) => [d.key, d.width, d.height])).toEqual([
      [`derived/${OWNER}/${good}/thumbnail.webp`, 256, 171],
      [`derived/${OWNER}/${good}/preview.jpg`, 1024, 683],
    ]);
    const written = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(written.every((key) => key?.startsWith('derived/'))).toBe(true);

    expect(await repository.get(html)).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringMatching(/HTML/),
    });
    expect(sentEvents()).toEqual([
      {
        type: 'file.processed',
        detail: expect.objectContaining({ fileId: good, status: 'PROCESSED' }),
      },
      {
        type: 'file.rejected',
        detail: expect.objectContaining({ fileId: html, reason: expect.any(String) }),
      },
    ]);
  });

  it('says UPLOADED for the files of a batch that wait behind the one being processed', async () => {
    const jpeg = await makeJpeg(320, 240);
    const first = await upload(jpeg, 'image/jpeg');
    const second = await upload(jpeg, 'image/jpeg');
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let whileFirstRuns: string | undefined;
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      if (input.Key === uploadKey(OWNER, first)) {
        // The first record is being read: look at the second, then let the first go on.
        await new Promise((resolve) => setTimeout(resolve, 50));
        whileFirstRuns = (await (await fileRepository()).get(second))?.status;
        release();
      }
      await held;
      const data = objects.get(input.Key) ?? Buffer.alloc(0);
      return { Body: Readable.from([data]), ContentLength: data.length, VersionId: 'v1' };
    });
    const records = [first, second].map((id) =>
      sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, id), jpeg.length)),
    );
    const response = await handler({ Records: records }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([]);
    expect(whileFirstRuns).toBe('UPLOADED');
    const repository = await fileRepository();
    expect((await repository.get(first))?.status).toBe('PROCESSED');
    expect((await repository.get(second))?.status).toBe('PROCESSED');
  });

  it('removes the derivatives it wrote when the file was deleted while it worked', async () => {
    const jpeg = await makeJpeg(640, 480);
    const fileId = await upload(jpeg, 'image/jpeg');
    const written = new Set<string>();
    s3.on(PutObjectCommand).callsFake((input: { Key: string }) => {
      written.add(input.Key);
      return {};
    });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      // The owner deletes the file just as the processor starts reading it.
      await (await fileRepository()).markDeleted(OWNER, fileId);
      const data = objects.get(input.Key) ?? Buffer.alloc(0);
      return { Body: Readable.from([data]), ContentLength: data.length, VersionId: 'v1' };
    });
    s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => ({
      Versions: [...written]
        .filter((key) => key.startsWith(input.Prefix))
        .map((Key) => ({ Key, VersionId: 'd1' })),
    }));
    s3.on(DeleteObjectsCommand).resolves({});

    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId), jpeg.length));
    const response = await handler({ Records: [record] }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([]);
    expect(written.size).toBe(2);
    const removed = s3
      .commandCalls(DeleteObjectsCommand)
      .flatMap((call) => call.args[0].input.Delete?.Objects?.map((o) => o.Key) ?? []);
    expect(removed.sort()).toEqual([...written].sort());
    expect((await (await fileRepository()).get(fileId))?.status).toBe('DELETED');
    expect(sentEvents()).toEqual([]);
  });

  it('skips an event whose result is already stored, doing no work at all', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    // The first delivery processed it.
    const repository = await fileRepository();
    await repository.startProcessing(fileId, 'v1');
    await repository.finish(fileId, {
      status: 'PROCESSED',
      objectVersion: 'v1',
      size: 5,
      contentType: 'text/plain',
      sha256: 'a'.repeat(64),
      metadata: {},
      derivatives: [],
      reason: null,
    });
    const before = await repository.get(fileId);
    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId), 5));
    dynamo.on(PutItemCommand).rejects(
      idempotencyRecordExists('COMPLETED', {
        data: { S: JSON.stringify({ kind: 'done', status: 'PROCESSED', size: 5 }) },
      }),
    );
    const response = await handler({ Records: [record] }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([]);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(sentEvents()).toEqual([]);
    expect(await repository.get(fileId)).toEqual(before);
  });

  it('leaves a file alone on its last attempt when another invocation is processing it', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    await (await fileRepository()).startProcessing(fileId, 'v1');
    dynamo.on(PutItemCommand).rejects(
      idempotencyRecordExists('INPROGRESS', {
        in_progress_expiration: { N: String(Date.now() + 60_000) },
      }),
    );
    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId), 5), 3);
    await expect(handler({ Records: [record] }, lambdaContext('processor'))).rejects.toThrow(
      /All records failed/,
    );
    expect((await (await fileRepository()).get(fileId))?.status).toBe('PROCESSING');
    expect(sentEvents()).toEqual([]);
  });

  it('retries a transient failure, and on the last attempt records FAILED with the reason', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    s3.on(GetObjectCommand).rejects(new Error('S3 is having a bad day'));
    const event = objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId), 5);
    // A batch whose every record failed is thrown whole, so Lambda retries it and counts an error.
    await expect(
      handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('PROCESSING');
    expect(sentEvents()).toEqual([]);

    await expect(
      handler({ Records: [sqsRecord(event, 3)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'FAILED',
      reason:
        'Processing failed 3 times and was stopped; the last error was: S3 is having a bad day',
    });
    expect(sentEvents().map((e) => e.type)).toEqual(['file.failed']);
  });
});
