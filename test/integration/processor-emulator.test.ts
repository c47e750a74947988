import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, type Message, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DatabaseHandle } from '#shared/adapters/db/connect.ts';
import { openDatabase } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import { VersionCopier } from '#shared/adapters/version-copier.ts';
import { derivedKey, derivedPrefix, uploadKey } from '#shared/domain/keys.ts';
import { timingFromEnvironment } from '#shared/domain/lifecycle.ts';
import { createTestDatabase } from '../support/databases.ts';
import {
  createPipelineResources,
  type EmulatorClients,
  emulatorClients,
  type PipelineResources,
  REGION,
  receive,
} from '../support/emulator-resources.ts';
import { apiEvent, lambdaContext } from '../support/events.ts';
import { HTML_PAGE, makeElf, makeJpeg, makePngHeaderOnly } from '../support/images.ts';

const OWNER = 'emulator-user';
const MAX_RECEIVE_COUNT = 3;
const endpoint = inject('emulatorEndpoint');
const clients: EmulatorClients = emulatorClients(endpoint);
let resources: PipelineResources;
let handle: DatabaseHandle;
let repository: FileRepository;
let processor: typeof import('../../functions/process-image.ts').handler;
let uploadApi: typeof import('../../functions/upload-api.ts').handler;
let fileActions: typeof import('../../functions/file-actions.ts').handler;
let sweeper: typeof import('../../functions/sweeper.ts').handler;

const toRecord = (message: Message): SQSRecord => ({
  messageId: message.MessageId ?? '',
  receiptHandle: message.ReceiptHandle ?? '',
  body: message.Body ?? '',
  attributes: {
    ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
    SentTimestamp: '0',
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: '0',
  },
  messageAttributes: {},
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ingest',
  awsRegion: REGION,
});

/** What Lambda's SQS poller does: run the batch, delete what succeeded, leave the rest. */
const deliver = async (messages: Message[]): Promise<string[]> => {
  const response = await processor(
    { Records: messages.map(toRecord) },
    lambdaContext('processor'),
  ).catch(() => ({
    batchItemFailures: messages.map((m) => ({ itemIdentifier: m.MessageId ?? '' })),
  }));
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  for (const message of messages) {
    if (!failed.has(message.MessageId ?? '')) {
      await clients.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: resources.ingestQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }
  }
  return [...failed];
};

const publishedEvents = async (expected: number, timeoutMs = 8000) =>
  (await receive(clients.sqs, resources.captureQueueUrl, expected, timeoutMs)).map((m) => {
    const event = JSON.parse(m.Body ?? '{}');
    return { type: event['detail-type'] as string, detail: event.detail };
  });

const putUpload = async (
  fileId: string,
  data: Buffer,
  contentType: string,
  declaredSize = data.length,
) => {
  const key = uploadKey(OWNER, fileId, 'image');
  await repository.createPending({
    fileId,
    ownerId: OWNER,
    filename: `${fileId}.bin`,
    contentType,
    size: declaredSize,
    checksumSha256: null,
    bucket: resources.bucket,
    key,
    uploadExpiresAt: new Date(Date.now() + 900_000),
  });
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: resources.bucket,
      Key: key,
      Body: data,
      ContentType: contentType,
    }),
  );
};

describe('processor against the emulator (S3, EventBridge, SQS, DynamoDB) and PostgreSQL', () => {
  beforeAll(async () => {
    resources = await createPipelineResources(clients, MAX_RECEIVE_COUNT);
    const database = await createTestDatabase();
    handle = await openDatabase({ driver: 'pg', connectionString: database.url });
    await migrate(handle.db);
    repository = new FileRepository(handle.db);
    vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('DATABASE_URL', database.url);
    vi.stubEnv('BUCKET_NAME', resources.bucket);
    vi.stubEnv('EVENT_BUS_NAME', resources.busName);
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', resources.idempotencyTable);
    vi.stubEnv('MAX_RECEIVE_COUNT', String(MAX_RECEIVE_COUNT));
    vi.stubEnv('INGEST_QUEUE_URL', resources.ingestQueueUrl);
    // The local stage's clock (infra/stages.ts): a 30 s timeout, deliveries 180 s apart.
    vi.stubEnv('PROCESSOR_TIMEOUT_SECONDS', '30');
    vi.stubEnv('INGEST_VISIBILITY_TIMEOUT_SECONDS', '180');
    vi.stubEnv('INGEST_RETENTION_SECONDS', '345600');
    vi.stubEnv('SWEEP_GRACE_SECONDS', '5');
    processor = (await import('../../functions/process-image.ts')).handler;
    vi.stubEnv('CURSOR_KEY', 'integration-cursor-key');
    uploadApi = (await import('../../functions/upload-api.ts')).handler;
    fileActions = (await import('../../functions/file-actions.ts')).handler;
    sweeper = (await import('../../functions/sweeper.ts')).handler;
  });

  afterAll(async () => {
    await handle?.close();
    vi.unstubAllEnvs();
  });

  it('takes an upload from presigned POST to PROCESSED, with derivatives and a file.processed event', async () => {
    const jpeg = await makeJpeg(1600, 1200);
    const response = await uploadApi(
      apiEvent({
        method: 'POST',
        path: '/uploads',
        ownerId: OWNER,
        body: JSON.stringify({
          filename: 'été 🌸 photo.jpg',
          contentType: 'image/jpeg',
          size: jpeg.length,
        }),
      }),
      lambdaContext('upload-api'),
    );
    expect(response.statusCode).toBe(201);
    const { fileId, upload } = JSON.parse(response.body);
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields as Record<string, string>))
      form.append(name, value);
    form.append('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'photo.jpg');
    const posted = await fetch(upload.url, { method: 'POST', body: form });
    expect(posted.status).toBeLessThan(300);

    const [message] = await receive(clients.sqs, resources.ingestQueueUrl, 1);
    expect(message).toBeDefined();
    expect(await deliver([message as Message])).toEqual([]);

    const file = await repository.get(fileId);
    expect(file).toMatchObject({
      status: 'PROCESSED',
      size: jpeg.length,
      contentType: 'image/jpeg',
      filename: 'été 🌸 photo.jpg',
    });
    expect(file?.metadata.image).toMatchObject({ width: 1600, height: 1200 });
    for (const derivative of file?.derivatives ?? []) {
      const object = await clients.s3.send(
        new GetObjectCommand({ Bucket: resources.bucket, Key: derivative.key }),
      );
      const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
      const meta = await sharp(bytes).metadata();
      expect([meta.width, meta.height]).toEqual([derivative.width, derivative.height]);
    }
    expect(file?.derivatives.map((d) => d.width)).toEqual([256, 1024]);
    const events = await publishedEvents(1);
    expect(events).toEqual([
      {
        type: 'file.processed',
        detail: expect.objectContaining({
          fileId,
          ownerId: OWNER,
          status: 'PROCESSED',
          sha256: file?.sha256,
        }),
      },
    ]);

    // The same S3 event three more times: still one record, no second event.
    for (let i = 0; i < 3; i++) {
      await clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: resources.ingestQueueUrl,
          MessageBody: message?.Body ?? '',
        }),
      );
    }
    const replays = await receive(clients.sqs, resources.ingestQueueUrl, 3);
    expect(replays).toHaveLength(3);
    expect(await deliver(replays)).toEqual([]);
    expect(await publishedEvents(1, 3000)).toEqual([]);
    const items = await clients.dynamo.send(
      new ScanCommand({ TableName: resources.idempotencyTable }),
    );
    expect(items.Items?.filter((item) => item.status?.S === 'COMPLETED')).toHaveLength(1);
    expect((await repository.get(fileId))?.updatedAt).toEqual(file?.updatedAt);
  });

  it('reprocesses a file on request, once per request, while replayed S3 events stay stopped', async () => {
    const fileId = randomUUID();
    const jpeg = await makeJpeg(640, 480);
    await putUpload(fileId, jpeg, 'image/jpeg');
    const [created] = await receive(clients.sqs, resources.ingestQueueUrl, 1);
    expect(await deliver([created as Message])).toEqual([]);
    expect(await publishedEvents(1)).toHaveLength(1);
    const first = await repository.get(fileId);

    const reprocess = () =>
      fileActions(
        apiEvent({
          method: 'POST',
          path: `/files/${fileId}/reprocess`,
          ownerId: OWNER,
          pathParameters: { fileId },
        }),
        lambdaContext('file-actions'),
      );
    const accepted = await reprocess();
    expect(accepted.statusCode).toBe(202);
    expect(JSON.parse(accepted.body)).toMatchObject({ fileId, status: 'UPLOADED' });
    expect((await repository.get(fileId))?.status).toBe('UPLOADED');

    // The request went on the bus; its rule brought it to the ingest queue.
    const [request] = await receive(clients.sqs, resources.ingestQueueUrl, 1);
    expect(JSON.parse(request?.Body ?? '{}')).toMatchObject({
      'detail-type': 'file.reprocess-requested',
      detail: {
        type: 'syncflow.reprocess',
        bucket: resources.bucket,
        key: uploadKey(OWNER, fileId, 'image'),
      },
    });
    expect(await deliver([request as Message])).toEqual([]);
    const again = await repository.get(fileId);
    expect(again).toMatchObject({ status: 'PROCESSED', sha256: first?.sha256 });
    expect(again?.processedAt?.getTime()).toBeGreaterThan(first?.processedAt?.getTime() ?? 0);
    expect(await publishedEvents(1)).toEqual([
      { type: 'file.processed', detail: expect.objectContaining({ fileId, status: 'PROCESSED' }) },
    ]);

    // The reprocess request delivered twice more, and the original S3 event again: no new run.
    for (const body of [request?.Body, request?.Body, created?.Body]) {
      await clients.sqs.send(
        new SendMessageCommand({ QueueUrl: resources.ingestQueueUrl, MessageBody: body ?? '' }),
      );
    }
    expect(await deliver(await receive(clients.sqs, resources.ingestQueueUrl, 3))).toEqual([]);
    expect(await publishedEvents(1, 3000)).toEqual([]);
    expect((await repository.get(fileId))?.updatedAt).toEqual(again?.updatedAt);
  });

  it('removes derivatives a run cut short left behind once the file is deleted', async () => {
    const fileId = randomUUID();
    const jpeg = await makeJpeg(320, 240);
    await putUpload(fileId, jpeg, 'image/jpeg');
    const [created] = await receive(clients.sqs, resources.ingestQueueUrl, 1);
    // An earlier run wrote a derivative and stopped; then the owner deleted the file.
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: resources.bucket,
        Key: derivedKey(OWNER, fileId, 'thumbnail.webp'),
        Body: Buffer.from('left behind'),
      }),
    );
    await repository.markDeleted(OWNER, fileId);

    expect(await deliver([created as Message])).toEqual([]);
    const left = await clients.s3.send(
      new ListObjectVersionsCommand({
        Bucket: resources.bucket,
        Prefix: derivedPrefix(OWNER, fileId),
      }),
    );
    expect([...(left.Versions ?? []), ...(left.DeleteMarkers ?? [])]).toEqual([]);
    expect((await repository.get(fileId))?.status).toBe('DELETED');
    expect(await publishedEvents(1, 2000)).toEqual([]);
  });

  it('ends every hostile file of one batch in its own clear status', async () => {
    const jpeg = await makeJpeg(400, 300);
    const cases = [
      {
        id: crypto.randomUUID(),
        data: Buffer.alloc(0),
        type: 'image/jpeg',
        size: 10,
        status: 'FAILED',
        reason: /empty/,
      },
      {
        id: crypto.randomUUID(),
        data: jpeg.subarray(0, jpeg.length >> 1),
        type: 'image/jpeg',
        status: 'FAILED',
        reason: /could not be decoded/,
      },
      {
        id: crypto.randomUUID(),
        data: HTML_PAGE,
        type: 'image/jpeg',
        status: 'REJECTED',
        reason: /HTML document/,
      },
      {
        id: crypto.randomUUID(),
        data: makeElf(),
        type: 'text/plain',
        status: 'REJECTED',
        reason: /ELF executable/,
      },
      {
        id: crypto.randomUUID(),
        data: makePngHeaderOnly(100_000, 100_000),
        type: 'image/png',
        status: 'FAILED',
        reason: /100000 × 100000/,
      },
      {
        id: crypto.randomUUID(),
        data: jpeg,
        type: 'image/jpeg',
        status: 'PROCESSED',
        reason: null,
      },
    ];
    for (const c of cases) await putUpload(c.id, c.data, c.type, c.size);
    const messages = await receive(clients.sqs, resources.ingestQueueUrl, cases.length);
    expect(messages).toHaveLength(cases.length);
    expect(await deliver(messages)).toEqual([]);
    for (const c of cases) {
      const file = await repository.get(c.id);
      expect(file?.status, c.type).toBe(c.status);
      if (c.reason) expect(file?.reason).toMatch(c.reason);
    }
    const events = await publishedEvents(cases.length);
    expect(events.map((e) => e.type).sort()).toEqual([
      'file.failed',
      'file.failed',
      'file.failed',
      'file.processed',
      'file.rejected',
      'file.rejected',
    ]);
  });

  it('retries a message it cannot understand until the queue parks it in the DLQ', async () => {
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.ingestQueueUrl,
        MessageBody: '{"not":"an S3 event"}',
      }),
    );
    let attempts = 0;
    for (let round = 0; round < 10; round++) {
      const messages = await receive(clients.sqs, resources.ingestQueueUrl, 1, 3000);
      if (messages.length === 0) break;
      attempts++;
      expect(await deliver(messages)).toHaveLength(1);
    }
    expect(attempts).toBe(MAX_RECEIVE_COUNT);
    const parked = await receive(clients.sqs, resources.deadLetterQueueUrl, 1);
    expect(parked.map((m) => m.Body)).toEqual(['{"not":"an S3 event"}']);
  });

  /** Every version and delete marker under a key or prefix. */
  const versionsUnder = async (prefix: string) => {
    const page = await clients.s3.send(
      new ListObjectVersionsCommand({ Bucket: resources.bucket, Prefix: prefix }),
    );
    return [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
  };

  it('keeps only the checked version when a form is sent again, and nothing of a deleted file', async () => {
    const fileId = randomUUID();
    const text = Buffer.from('the bytes that were checked\n');
    await putUpload(fileId, text, 'text/plain');
    const [created] = await receive(clients.sqs, resources.ingestQueueUrl, 1);
    expect(await deliver([created as Message])).toEqual([]);
    const checked = await repository.get(fileId);
    expect(checked?.versionId).toEqual(expect.any(String));
    expect(await publishedEvents(1)).toHaveLength(1);

    // Other bytes under the same key: a second version, whose event the processor takes.
    const key = uploadKey(OWNER, fileId, 'image');
    await clients.s3.send(
      new PutObjectCommand({ Bucket: resources.bucket, Key: key, Body: Buffer.from('forged!') }),
    );
    expect(await deliver(await receive(clients.sqs, resources.ingestQueueUrl, 1))).toEqual([]);
    expect((await versionsUnder(key)).map((v) => v.VersionId)).toEqual([checked?.versionId]);
    expect(await repository.get(fileId)).toEqual(checked);
    expect(await publishedEvents(1, 2000)).toEqual([]);

    // Deleted, then sent again: nothing stays.
    await repository.markDeleted(OWNER, fileId);
    await clients.s3.send(new PutObjectCommand({ Bucket: resources.bucket, Key: key, Body: text }));
    expect(await deliver(await receive(clients.sqs, resources.ingestQueueUrl, 1))).toEqual([]);
    expect(await versionsUnder(key)).toEqual([]);
  });

  it('sweeps: a run cut short ends FAILED once, an unused URL EXPIRED, an arrived one UPLOADED', async () => {
    const sweep = () => sweeper({ source: 'aws.events' }, lambdaContext('sweeper'));
    // A file whose run on its last delivery was stopped (timeout, memory) a minute ago.
    const cut = randomUUID();
    await putUpload(cut, Buffer.from('x'), 'text/plain');
    await receive(clients.sqs, resources.ingestQueueUrl, 1);
    await repository.startProcessing(cut, {
      objectVersion: 'v1',
      versionId: null,
      attempts: MAX_RECEIVE_COUNT,
      deadline: new Date(Date.now() - 60_000),
    });
    // Two uploads whose URLs expired a minute ago: one never sent, one that arrived.
    const never = randomUUID();
    const arrived = randomUUID();
    for (const fileId of [never, arrived]) {
      await repository.createPending({
        fileId,
        ownerId: OWNER,
        filename: 'late.txt',
        contentType: 'text/plain',
        size: 1,
        checksumSha256: null,
        bucket: resources.bucket,
        key: uploadKey(OWNER, fileId, 'image'),
        uploadExpiresAt: new Date(Date.now() - 60_000),
      });
    }
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: resources.bucket,
        Key: uploadKey(OWNER, arrived, 'image'),
        Body: Buffer.from('y'),
      }),
    );
    await receive(clients.sqs, resources.ingestQueueUrl, 1);

    const first = await sweep();
    expect(first).toMatchObject({ failed: 1, expired: 1, arrived: 1, errors: 0 });
    expect(await repository.get(cut)).toMatchObject({
      status: 'FAILED',
      reason: expect.stringMatching(/cut short on each of its 3 attempts/),
    });
    expect(await repository.get(never)).toMatchObject({
      status: 'EXPIRED',
      reason: expect.stringMatching(/^The upload URL expired at .* before the file arrived/),
    });
    expect((await repository.get(arrived))?.status).toBe('UPLOADED');
    const events = await publishedEvents(1);
    expect(events).toEqual([
      { type: 'file.failed', detail: expect.objectContaining({ fileId: cut, status: 'FAILED' }) },
    ]);
    // A second sweep finds nothing more to do and publishes nothing.
    expect(await sweep()).toMatchObject({ failed: 0, expired: 0, arrived: 0 });
    expect(await publishedEvents(1, 2000)).toEqual([]);
  });

  it('copies the checked version for the transcoder, not what was sent under the key since', async () => {
    const store = new ObjectStore(clients.s3);
    const copier = new VersionCopier(clients.s3);
    const fileId = randomUUID();
    // Outside uploads/, so no event reaches the ingest queue the other tests read.
    const key = derivedKey(OWNER, fileId, 'versioned-source');
    const put = async (body: Buffer) =>
      (
        await clients.s3.send(
          new PutObjectCommand({ Bucket: resources.bucket, Key: key, Body: body }),
        )
      ).VersionId;
    // Large enough for two parts of 5 MiB (S3's smallest but for the last).
    const checked = Buffer.alloc(6 * 1024 * 1024, 'checked ');
    const checkedVersion = await put(checked);
    await put(Buffer.alloc(checked.length, 'forged! '));
    expect(checkedVersion).toEqual(expect.any(String));
    const read = async (toKey: string) => {
      const object = await clients.s3.send(
        new GetObjectCommand({ Bucket: resources.bucket, Key: toKey }),
      );
      return Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()));
    };
    const source = { key, versionId: checkedVersion as string, size: checked.length };
    const single = derivedKey(OWNER, fileId, 'staging/single');
    await copier.copyVersion(resources.bucket, source, single);
    expect((await read(single)).equals(checked)).toBe(true);
    const parts = derivedKey(OWNER, fileId, 'staging/parts');
    await copier.copyVersion(resources.bucket, source, parts, {
      singleCopyBytes: 1024,
      partBytes: 5 * 1024 * 1024,
    });
    expect((await read(parts)).equals(checked)).toBe(true);
    await store.deleteEverything(resources.bucket, [derivedPrefix(OWNER, fileId)]);
  });

  it('sweeps: takes expired uploads page after page while time is left, each once', async () => {
    const { sweep } = await import('#shared/processing/sweep.ts');
    const timing = timingFromEnvironment();
    const owner = `abandoner-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const fileId = randomUUID();
      ids.push(fileId);
      await repository.createPending({
        fileId,
        ownerId: owner,
        filename: 'never-sent.txt',
        contentType: 'text/plain',
        size: 1,
        checksumSha256: null,
        bucket: resources.bucket,
        key: uploadKey(owner, fileId, 'other'),
        uploadExpiresAt: new Date(Date.now() - 60_000),
      });
    }
    // One of them cannot be swept (S3 fails on it every time): the sweep goes past it, once.
    const broken = ids[7] as string;
    const store = new ObjectStore(clients.s3);
    const failing = Object.assign(Object.create(store) as ObjectStore, {
      head: (bucket: string, key: string) =>
        key.endsWith(broken)
          ? Promise.reject(new Error('S3 is down for this one'))
          : store.head(bucket, key),
    });
    const deps = (timeLeft: number) => ({
      repository,
      store: failing,
      events: new FileEventPublisher(clients.eventBridge, resources.busName),
      timeLeft: () => timeLeft,
    });
    const statusOf = async () =>
      Promise.all(ids.map(async (fileId) => (await repository.get(fileId))?.status));

    // No time left for a second page: one page of two, as before.
    const short = await sweep(deps(0), timing, new Date(), 2);
    expect(short).toMatchObject({ expired: 2, expiredPages: 1, errors: 0 });
    expect((await statusOf()).filter((status) => status === 'EXPIRED')).toHaveLength(2);

    // Time enough: pages of two until one comes back short (2, 2, 1 + the broken one, none).
    const long = await sweep(deps(60_000), timing, new Date(), 2);
    expect(long).toMatchObject({ expired: 5, expiredPages: 4, errors: 1 });
    const statuses = await statusOf();
    expect(statuses.filter((status) => status === 'EXPIRED')).toHaveLength(7);
    expect(statuses[7]).toBe('PENDING_UPLOAD');
    // Once S3 answers again, the next sweep ends it too.
    expect(await sweep({ ...deps(60_000), store }, timing, new Date(), 2)).toMatchObject({
      expired: 1,
      expiredPages: 1,
      errors: 0,
    });
  });

  it('sweeps: publishes an end state no delivery managed to publish, once, under its outcomeId', async () => {
    const fileId = randomUUID();
    await putUpload(fileId, Buffer.from('its event never went out'), 'text/plain');
    await receive(clients.sqs, resources.ingestQueueUrl, 1);
    // Every delivery ended it and failed before its event: the record says PROCESSED, unpublished.
    await repository.startProcessing(fileId, {
      objectVersion: 'v1',
      versionId: null,
      attempts: 3,
      deadline: new Date(),
    });
    const ended = await repository.finish(fileId, {
      status: 'PROCESSED',
      objectVersion: 'v1',
      size: 24,
      contentType: 'text/plain',
      sha256: 'a'.repeat(64),
      metadata: {},
      derivatives: [],
      reason: null,
    });
    expect(ended?.publishedStatus).toBeNull();
    await handle.db.query(
      "UPDATE files SET updated_at = now() - interval '1 hour' WHERE file_id = $1::uuid",
      [fileId],
    );
    const outcomeId = `${fileId}:PROCESSED:${ended?.processedAt?.toISOString()}`;
    const result = await sweeper({ source: 'aws.events' }, lambdaContext('sweeper'));
    expect(result.outcomesPublished).toBe(1);
    expect(await publishedEvents(1)).toEqual([
      {
        type: 'file.processed',
        detail: expect.objectContaining({ fileId, status: 'PROCESSED', outcomeId }),
      },
    ]);
    expect((await repository.get(fileId))?.publishedStatus).toBe('PROCESSED');
    expect(
      (await sweeper({ source: 'aws.events' }, lambdaContext('sweeper'))).outcomesPublished,
    ).toBe(0);
  });

  it('sweeps: finishes a deletion its request left half done, with one file.deleted', async () => {
    const fileId = randomUUID();
    await putUpload(fileId, Buffer.from('to be deleted'), 'text/plain');
    await receive(clients.sqs, resources.ingestQueueUrl, 1);
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: resources.bucket,
        Key: derivedKey(OWNER, fileId, 'thumbnail.webp'),
        Body: Buffer.from('derivative'),
      }),
    );
    // The DELETE request marked it and then died; its objects are all still there.
    await repository.markDeleted(OWNER, fileId);
    await handle.db.query(
      "UPDATE files SET updated_at = now() - interval '5 minutes' WHERE file_id = $1::uuid",
      [fileId],
    );
    const result = await sweeper({ source: 'aws.events' }, lambdaContext('sweeper'));
    expect(result.deletionsFinished).toBe(1);
    expect(await versionsUnder(uploadKey(OWNER, fileId, 'image'))).toEqual([]);
    expect(await versionsUnder(derivedPrefix(OWNER, fileId))).toEqual([]);
    expect(await publishedEvents(1)).toEqual([
      { type: 'file.deleted', detail: expect.objectContaining({ fileId, status: 'DELETED' }) },
    ]);
    expect(await repository.get(fileId)).toMatchObject({
      status: 'DELETED',
      publishedStatus: 'DELETED',
      filename: '',
    });
  });
  it('converts a CSV in the tabular function into its dataset table, and a delete takes its rows out', async () => {
    vi.stubEnv('ANALYTICS_DATABASE', `syncflow_it_${randomUUID().slice(0, 8)}`);
    const tabular = (await import('../../functions/process-tabular.ts')).handler;
    const fileId = randomUUID();
    const key = uploadKey(OWNER, fileId, 'tabular');
    const csv = Buffer.from('id,name\n1,ada\n2,grace\n');
    await repository.createPending({
      fileId,
      ownerId: OWNER,
      filename: 'people.csv',
      contentType: 'text/csv',
      size: csv.length,
      checksumSha256: null,
      bucket: resources.bucket,
      key,
      kind: 'tabular',
      dataset: 'people',
      uploadExpiresAt: new Date(Date.now() + 900_000),
    });
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: resources.bucket,
        Key: key,
        Body: csv,
        ContentType: 'text/csv',
      }),
    );
    // Earlier tests may leave messages of their own in the shared queue: take this file's.
    let created: Message | undefined;
    for (let i = 0; i < 10 && !created; i++) {
      const messages = await receive(clients.sqs, resources.ingestQueueUrl, 10, 2000);
      created = messages.find((m) => m.Body?.includes(fileId));
    }
    const response = await tabular(
      { Records: [toRecord(created as Message)] },
      lambdaContext('tabular'),
    );
    expect(response.batchItemFailures).toEqual([]);
    const file = await repository.get(fileId);
    expect(file).toMatchObject({ status: 'PROCESSED', kind: 'tabular', dataset: 'people' });
    const table = file?.metadata.tabular?.table;
    expect(table?.table).toMatch(/^ds_[0-9a-f]{20}_people$/);
    expect(file?.metadata.tabular?.rowCount).toBe(2);
    const rows = async () =>
      (
        await clients.s3.send(
          new ListObjectVersionsCommand({ Bucket: resources.bucket, Prefix: 'analytics/' }),
        )
      ).Versions?.map((v) => v.Key).filter((k) => k?.includes(fileId)) ?? [];
    expect(await rows()).toEqual(table?.objects);
    expect(file?.derivatives.map((d) => d.name)).toEqual(['data.parquet']);
    await publishedEvents(1);

    const deleted = await fileActions(
      apiEvent({
        method: 'DELETE',
        path: `/files/${fileId}`,
        ownerId: OWNER,
        pathParameters: { fileId },
      }),
      lambdaContext('file-actions'),
    );
    expect(deleted.statusCode).toBe(204);
    expect(await rows()).toEqual([]);
    await publishedEvents(1);
  });
});
