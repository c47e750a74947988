import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { logger } from '#shared/observability/powertools.ts';
import { lambdaContext, objectCreatedEvent, sqsRecord } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';
import { HTML_PAGE, makeJpeg } from '../../support/images.ts';
import { captureLogs } from '../../support/log-capture.ts';

stubFunctionEnv({
  EVENT_BUS_NAME: 'files-bus',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
  INGEST_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ingest',
  MAX_RECEIVE_COUNT: '3',
  MIN_TIME_LEFT_SECONDS: '20',
});

const s3 = mockClient(S3Client);
const eventBridge = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);
const { handler } = await import('../../../functions/process-image.ts');

const BUCKET = 'uploads-bucket';
const OWNER = 'owner-1';
const objects = new Map<string, Buffer>();

/**
 * A file queued for the image function. Most tests here are of the handler every kind shares,
 * with plain bytes: those are recorded as kind `other` (as a key made before kinds is), which
 * the function checks as every kind does; `kind` makes one an image for the image pipeline.
 */
const upload = async (
  data: Buffer,
  contentType: string,
  filename = 'x',
  kind: 'image' | 'other' = contentType.startsWith('image/') ? 'image' : 'other',
): Promise<string> => {
  const fileId = randomUUID();
  const key = uploadKey(OWNER, fileId, 'image');
  await (await fileRepository()).createPending({
    kind,
    fileId,
    ownerId: OWNER,
    filename,
    contentType,
    size: data.length,
    checksumSha256: null,
    bucket: BUCKET,
    key,
    uploadExpiresAt: new Date(Date.now() + 900_000),
  });
  objects.set(key, data);
  return fileId;
};

/** A claim of the file for version v1, as a run makes it. */
const claim = (attempts = 1) => ({
  objectVersion: 'v1',
  versionId: 'v1',
  attempts,
  deadline: new Date(Date.now() + 60_000),
});

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
    sqs.reset();
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
      sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, good, 'image'), jpeg.length)),
      sqsRecord('this is not an S3 event'),
      sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, html, 'image'), HTML_PAGE.length)),
    ];
    let response: Awaited<ReturnType<typeof handler>> | undefined;
    const lines = await captureLogs(logger, async () => {
      response = await handler({ Records: records }, lambdaContext('processor'));
    });
    expect(response?.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.messageId }]);
    // Each end is logged with its status, and the reason when there is one.
    const finished = lines.filter((line) => line.message === 'File finished');
    expect(finished).toEqual([
      expect.objectContaining({ fileId: good, status: 'PROCESSED' }),
      expect.objectContaining({
        fileId: html,
        status: 'REJECTED',
        reason: expect.stringMatching(/HTML/),
      }),
    ]);
    expect(finished[0]).not.toHaveProperty('reason');

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
    // Each run announces its start (the owner's screen shows PROCESSING), then its end.
    expect(sentEvents()).toEqual([
      {
        type: 'file.processing',
        detail: expect.objectContaining({ fileId: good, status: 'PROCESSING' }),
      },
      {
        type: 'file.processed',
        detail: expect.objectContaining({ fileId: good, status: 'PROCESSED' }),
      },
      {
        type: 'file.processing',
        detail: expect.objectContaining({ fileId: html, status: 'PROCESSING' }),
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
      if (input.Key === uploadKey(OWNER, first, 'image')) {
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
      sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, id, 'image'), jpeg.length)),
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

    const record = sqsRecord(
      objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), jpeg.length),
    );
    const response = await handler({ Records: [record] }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([]);
    expect(written.size).toBe(2);
    const removed = s3
      .commandCalls(DeleteObjectsCommand)
      .flatMap((call) => call.args[0].input.Delete?.Objects?.map((o) => o.Key) ?? []);
    expect(removed.sort()).toEqual([...written].sort());
    expect((await (await fileRepository()).get(fileId))?.status).toBe('DELETED');
    // The start was announced; no outcome is, for a file that no longer exists.
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processing']);
  });

  it('skips an event whose result is already stored, doing no work at all', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    // The first delivery processed it.
    const repository = await fileRepository();
    await repository.startProcessing(fileId, claim());
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
    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5));
    dynamo.on(PutItemCommand).rejects(
      idempotencyRecordExists('COMPLETED', {
        data: { S: JSON.stringify({ kind: 'done', status: 'PROCESSED', size: 5 }) },
      }),
    );
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: uploadKey(OWNER, fileId, 'image'), VersionId: 'v1' }],
    });
    const response = await handler({ Records: [record] }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([]);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(sentEvents()).toEqual([]);
    expect(await repository.get(fileId)).toEqual(before);
  });

  it('leaves a file alone on its last attempt when another invocation is processing it', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    await (await fileRepository()).startProcessing(fileId, claim());
    dynamo.on(PutItemCommand).rejects(
      idempotencyRecordExists('INPROGRESS', {
        in_progress_expiration: { N: String(Date.now() + 60_000) },
      }),
    );
    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5), 3);
    await expect(handler({ Records: [record] }, lambdaContext('processor'))).rejects.toThrow(
      /All records failed/,
    );
    // Still PROCESSING, and the sweeper now knows the message had its last delivery; the
    // message keeps the queue's timeout (its next delivery would send it to the DLQ).
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'PROCESSING',
      attempts: 3,
    });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    expect(sentEvents()).toEqual([]);
  });

  it('sends a message whose file another invocation holds back when that run must end, not after the queue timeout', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    await (await fileRepository()).startProcessing(fileId, claim());
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const held = idempotencyRecordExists('INPROGRESS', {
      in_progress_expiration: { N: String(Date.now() + 45_000) },
    });
    dynamo.on(PutItemCommand).rejects(held);
    // The claim as DynamoDB holds it: the holder's deadline, 45 s from now.
    dynamo.on(GetItemCommand).resolves({ Item: held.Item });
    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5), 1);
    await expect(handler({ Records: [record] }, lambdaContext('processor'))).rejects.toThrow(
      /All records failed/,
    );
    const [call] = sqs.commandCalls(ChangeMessageVisibilityCommand);
    expect(call?.args[0].input.ReceiptHandle).toBe(record.receiptHandle);
    expect(call?.args[0].input.VisibilityTimeout).toBeGreaterThanOrEqual(44);
    expect(call?.args[0].input.VisibilityTimeout).toBeLessThanOrEqual(46);
    expect(await (await fileRepository()).get(fileId)).toMatchObject({ status: 'PROCESSING' });

    // The holder was a replay that has finished meanwhile: back at once.
    sqs.resetHistory();
    dynamo.on(GetItemCommand).resolves({
      Item: { ...held.Item, status: { S: 'COMPLETED' }, data: { S: '{}' } },
    });
    await expect(handler({ Records: [record] }, lambdaContext('processor'))).rejects.toThrow(
      /All records failed/,
    );
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toMatchObject({
      VisibilityTimeout: 1,
    });
  });

  it('retries a transient failure, and on the last attempt records FAILED with the reason', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    s3.on(GetObjectCommand).rejects(new Error('S3 is having a bad day'));
    const event = objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5);
    // A batch whose every record failed is thrown whole, so Lambda retries it and counts an error.
    await expect(
      handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('PROCESSING');
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processing']);
    eventBridge.resetHistory();

    await expect(
      handler({ Records: [sqsRecord(event, 3)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    // The reason is ours; S3's words stay in the log.
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'FAILED',
      reason:
        "Processing failed 3 times for a reason on our side and was stopped; the details are in the processor's log under this file's id. Reprocess the file to try again.",
    });
    // The last attempt's run announced itself again before it failed.
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processing', 'file.failed']);
  });

  it('tells a FAILED outcome once: a late copy of the event runs the file again unannounced, and only a new outcome is told', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    const event = objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5);
    s3.on(GetObjectCommand).rejects(new Error('S3 is having a bad day'));
    await expect(
      handler({ Records: [sqsRecord(event, 3)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processing', 'file.failed']);
    const failedOutcome = sentEvents()[1]?.detail.outcomeId;
    expect(failedOutcome).toMatch(new RegExp(`^${fileId}:FAILED:`));
    eventBridge.resetHistory();

    // A late copy (its own first delivery) fails the same way: no start, no second file.failed.
    await expect(
      handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    await expect(
      handler({ Records: [sqsRecord(event, 3)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    expect(sentEvents()).toEqual([]);
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'FAILED',
      publishedStatus: 'FAILED',
    });

    // Another copy after the cause went away ends PROCESSED: a new outcome, told.
    s3.on(GetObjectCommand).callsFake(() => ({
      Body: Readable.from([Buffer.from('hello')]),
      ContentLength: 5,
      VersionId: 'v1',
    }));
    await handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor'));
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processed']);
    expect(sentEvents()[0]?.detail.outcomeId).toMatch(new RegExp(`^${fileId}:PROCESSED:`));
  });

  it('completes a FAILED outcome whose publication was not recorded, under the same outcomeId, without running again', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    const event = objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5);
    s3.on(GetObjectCommand).rejects(new Error('S3 is having a bad day'));
    // The last delivery ends it FAILED and publishes; the database is gone before the record of
    // the publication is written (markPublished is the only statement that touches it).
    const repository = await fileRepository();
    const markPublished = vi
      .spyOn(FileRepository.prototype, 'markPublished')
      .mockRejectedValueOnce(new Error('connection refused'));
    await expect(
      handler({ Records: [sqsRecord(event, 3)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    markPublished.mockRestore();
    expect(await repository.get(fileId)).toMatchObject({ status: 'FAILED', publishedStatus: null });
    const first = sentEvents().find((e) => e.type === 'file.failed')?.detail.outcomeId;
    eventBridge.resetHistory();
    s3.resetHistory();

    await handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor'));
    expect(sentEvents().map((e) => [e.type, e.detail.outcomeId])).toEqual([['file.failed', first]]);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect((await repository.get(fileId))?.publishedStatus).toBe('FAILED');
  });

  it("removes a version sent under a processed file's key, keeping the checked one and its record", async () => {
    const jpeg = await makeJpeg(320, 240);
    const fileId = await upload(jpeg, 'image/jpeg');
    const key = uploadKey(OWNER, fileId, 'image');
    await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, key, jpeg.length, 'v1'))] },
      lambdaContext('processor'),
    );
    const checked = await (await fileRepository()).get(fileId);
    expect(checked).toMatchObject({ status: 'PROCESSED', versionId: 'v1', objectVersion: 'v1' });
    expect(checked?.derivatives.every((d) => d.sourceVersionId === 'v1')).toBe(true);
    const sources = s3
      .commandCalls(PutObjectCommand)
      .map((c) => c.args[0].input.Metadata?.['source-version-id']);
    expect(sources).toEqual(['v1', 'v1']);

    // The same form sent again: a second version, other bytes of the same length.
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: key, VersionId: 'v2', ETag: '"x"' },
        { Key: key, VersionId: 'v1', ETag: '"y"' },
      ],
    });
    s3.on(DeleteObjectsCommand).resolves({});
    eventBridge.resetHistory();
    const response = await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, key, jpeg.length, 'v2'))] },
      lambdaContext('processor'),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Delete: { Objects: [{ Key: key, VersionId: 'v2' }], Quiet: true } },
    ]);
    expect(await (await fileRepository()).get(fileId)).toEqual(checked);
    expect(sentEvents()).toEqual([]);
  });

  it('finds the version of an event that names none (as the emulator sends) by its ETag', async () => {
    const data = Buffer.from('plain text\n');
    const fileId = await upload(data, 'text/plain');
    const key = uploadKey(OWNER, fileId, 'image');
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: key, VersionId: 'v9', ETag: '"other"', LastModified: new Date(2000) },
        { Key: key, VersionId: 'v1', ETag: '"abc"', LastModified: new Date(1000) },
      ],
    });
    await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, key, data.length, null, 'abc'))] },
      lambdaContext('processor'),
    );
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input.VersionId).toBe('v1');
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'PROCESSED',
      versionId: 'v1',
      objectVersion: 'v1',
    });
  });

  it('records which delivery a run is and when it is stopped at the latest', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    let seen: { attempts: number; deadline: Date | null } | undefined;
    s3.on(GetObjectCommand).callsFake(async () => {
      seen = await (await fileRepository()).get(fileId);
      return { Body: Readable.from([Buffer.from('hello')]), ContentLength: 5, VersionId: 'v1' };
    });
    const before = Date.now();
    await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5), 2)] },
      lambdaContext('processor', 45_000),
    );
    expect(seen?.attempts).toBe(2);
    const deadline = seen?.deadline?.getTime() ?? 0;
    expect(deadline).toBeGreaterThanOrEqual(before + 44_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 45_000);
  });

  it('publishes an outcome once: a retry after the event went out publishes nothing more', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    const event = objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5);
    // The outcome's publish fails after the end state was written: the message is retried.
    let down = true;
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      if (down && input.Entries?.[0]?.DetailType === 'file.processed') {
        down = false;
        throw new Error('EventBridge is down');
      }
      return { FailedEntryCount: 0, Entries: [{ EventId: '1' }] };
    });
    await expect(
      handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor')),
    ).rejects.toThrow(/All records failed/);
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'PROCESSED',
      publishedStatus: null,
    });
    // The retry publishes what was missing, once; a third delivery publishes nothing.
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    eventBridge.resetHistory();
    await handler({ Records: [sqsRecord(event, 2)] }, lambdaContext('processor'));
    await handler({ Records: [sqsRecord(event, 3)] }, lambdaContext('processor'));
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processed']);
    expect((await (await fileRepository()).get(fileId))?.publishedStatus).toBe('PROCESSED');
  });

  it('processes a file whose start could not be announced (that event is only for the screen)', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    const event = objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5);
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      if (input.Entries?.[0]?.DetailType === 'file.processing') {
        throw new Error('EventBridge is down');
      }
      return { FailedEntryCount: 0, Entries: [{ EventId: '1' }] };
    });
    const response = await handler({ Records: [sqsRecord(event, 1)] }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([]);
    expect(await (await fileRepository()).get(fileId)).toMatchObject({
      status: 'PROCESSED',
      publishedStatus: 'PROCESSED',
    });
    expect(sentEvents().map((e) => e.type)).toEqual(['file.processing', 'file.processed']);
  });

  it('sends a record back at once when too little time is left to process it', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const record = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5), 1);
    await expect(handler({ Records: [record] }, lambdaContext('processor', 5_000))).rejects.toThrow(
      /All records failed/,
    );
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toMatchObject({
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 0,
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('PENDING_UPLOAD');

    // On its last delivery it runs whatever the time left.
    await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5), 3)] },
      lambdaContext('processor', 5_000),
    );
    expect((await (await fileRepository()).get(fileId))?.status).toBe('PROCESSED');
  });

  it('logs each failed record with its own error, a body it cannot read included', async () => {
    const errors = vi.spyOn(logger, 'error');
    const unreadable = sqsRecord('{"not": "an S3 event"', 3);
    const fileId = await upload(Buffer.from('hello'), 'text/plain');
    const good = sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5));
    const response = await handler({ Records: [unreadable, good] }, lambdaContext('processor'));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: unreadable.messageId }]);
    expect(errors).toHaveBeenCalledWith(
      'The message is not an upload event or a reprocess request',
      expect.objectContaining({
        messageId: unreadable.messageId,
        attempts: 3,
        error: expect.any(SyntaxError),
      }),
    );
    errors.mockRestore();
  });

  it('rejects bytes that are not an image, naming what they are', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain', 'notes.txt', 'image');
    await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5))] },
      lambdaContext('processor'),
    );
    const file = await (await fileRepository()).get(fileId);
    expect(file).toMatchObject({ status: 'REJECTED', kind: 'image' });
    expect(file?.reason).toMatch(/bytes are text .*not an image/);
  });

  it('never injects a fault where the stage did not turn fault injection on', async () => {
    const fileId = await upload(Buffer.from('hello'), 'text/plain', 'fault-crash.txt');
    await handler(
      { Records: [sqsRecord(objectCreatedEvent(BUCKET, uploadKey(OWNER, fileId, 'image'), 5))] },
      lambdaContext('processor'),
    );
    expect((await (await fileRepository()).get(fileId))?.status).toBe('PROCESSED');
  });
});
