import { createHash } from 'node:crypto';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { HeadObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ApiClient,
  type FilePage,
  type FileView,
  objectKeyOf,
  uploadFile,
  waitForFile,
} from '../support/api-client.ts';
import { freshUsers } from '../support/e2e-users.ts';
import {
  type BusListener,
  busEvents,
  functionLogLines,
  listenToBus,
  receive,
} from '../support/emulator-resources.ts';
import { objectCreatedEvent } from '../support/events.ts';
import { HTML_PAGE, makeJpeg } from '../support/images.ts';

const target = inject('target');
const s3 = new S3Client({ ...target.aws, forcePathStyle: Boolean(target.aws.endpoint) });
const sqs = new SQSClient(target.aws);
const eventBridge = new EventBridgeClient(target.aws);
const dynamo = new DynamoDBClient(target.aws);
const logs = new CloudWatchLogsClient(target.aws);
const outputs = target.outputs as Record<string, string>;
let listener: BusListener;
/** Two users of this run, made fresh so that they start with no files. */
let alice: ApiClient;
let bob: ApiClient;
const anonymous = new ApiClient(target.restUrl, undefined);

/** The `file.*` events about one file the bus listener heard (emulator-resources.ts). */
let eventsFor: ReturnType<typeof busEvents>;

/**
 * Waits until no processor run holds an idempotency record in progress. The processor publishes
 * the end state a moment before its run ends and the record completes; a replay that arrives in
 * that moment is put back for the queue's visibility timeout (minutes), which is right, but is
 * not what the replay checks below are about.
 */
const waitForRunsToEnd = async (timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Items } = await dynamo.send(
      new ScanCommand({ TableName: outputs.IdempotencyTableName }),
    );
    // A run killed mid-way (the integrity suite's fault-crash) leaves its record in progress
    // for good: only a record whose run may still be alive counts.
    const alive = (Items ?? []).some(
      (item) =>
        item.status?.S === 'INPROGRESS' &&
        Number(item.in_progress_expiration?.N ?? Number.POSITIVE_INFINITY) > Date.now(),
    );
    if (!alive) return;
    if (Date.now() > deadline) throw new Error('A processor run is still in progress');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/**
 * Waits until a processor has logged `count` replays of this file skipped since `since`: its own
 * messages handled, whatever other files' messages the queue still holds. A replay naming the
 * version (the emulator's own event names none, so its idempotency key differs) is first run and
 * finds the file PROCESSED (`Object skipped`); its repeats are stopped by the idempotency record
 * (`Duplicate event skipped`).
 */
const waitForSkippedReplays = async (
  fileId: string,
  count: number,
  since: number,
  timeoutMs = 60_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = (await functionLogLines(logs, /Processor/, since)).filter(
      (line) => line.fileId === fileId,
    );
    const skipped = lines.filter(
      (line) => line.message === 'Duplicate event skipped' || line.message === 'Object skipped',
    ).length;
    if (skipped >= count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `The processor skipped ${skipped} of ${count} replays of ${fileId}; its lines: ${JSON.stringify(lines.map((line) => line.message))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};

describe(`end to end on the ${target.name} stack`, () => {
  let removeUsers: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const fresh = await freshUsers(target, ['alice', 'bob']);
    removeUsers = fresh.remove;
    [alice, bob] = fresh.users.map((u) => u.api) as [ApiClient, ApiClient];
    listener = await listenToBus({ sqs, eventBridge }, outputs.EventBusName ?? '');
    eventsFor = busEvents(sqs, listener);
  });

  afterAll(async () => {
    await listener?.remove();
    await removeUsers();
  });

  it('answers /health without a token', async () => {
    const health = await anonymous.request('GET', '/health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('takes an image from presigned POST to PROCESSED with its metadata and downloadable derivatives, once', async () => {
    const jpeg = await makeJpeg(1600, 1200);
    const filename = 'Été à la mer 🌊 — photo (1).jpg';
    const fileId = await uploadFile(alice, filename, 'image/jpeg', jpeg);
    const file = await waitForFile(alice, fileId);
    expect(file).toMatchObject({
      status: 'PROCESSED',
      filename,
      size: jpeg.length,
      contentType: 'image/jpeg',
      sha256: createHash('sha256').update(jpeg).digest('hex'),
    });
    expect(file.metadata.image).toMatchObject({ width: 1600, height: 1200 });
    // Its downloads through the short-lived URLs, as a browser would fetch them.
    const original = await fetch(file.download?.url ?? '');
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(jpeg)).toBe(true);
    const sizes: number[][] = [];
    for (const derivative of file.derivatives) {
      const response = await fetch(derivative.url);
      expect(response.status).toBe(200);
      const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      sizes.push([meta.width ?? 0, meta.height ?? 0]);
    }
    expect(sizes).toEqual([
      [256, 192],
      [1024, 768],
    ]);
    expect(await eventsFor(fileId, 1, 15_000)).toEqual(['file.processed']);

    // The same S3 event delivered three more times: still one record, no second event.
    await waitForRunsToEnd();
    const bucket = outputs.BucketName ?? '';
    const key = objectKeyOf(file);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const event = objectCreatedEvent(bucket, key, jpeg.length, head.VersionId ?? undefined);
    const replay = {
      ...event,
      detail: {
        ...event.detail,
        object: { ...event.detail.object, etag: head.ETag?.replace(/"/g, '') },
      },
    };
    const sent = Date.now();
    for (let i = 0; i < 3; i++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: outputs.IngestQueueUrl,
          MessageBody: JSON.stringify(replay),
        }),
      );
    }
    await waitForSkippedReplays(fileId, 3, sent);
    expect(await eventsFor(fileId, 0, 5_000)).toEqual([]);
    const after = await alice.request<FileView>('GET', `/files/${fileId}`);
    expect(after.body).toMatchObject({ status: 'PROCESSED', processedAt: file.processedAt });
    const listed = await alice.request<FilePage>('GET', `/files?q=${encodeURIComponent(filename)}`);
    expect(listed.body.items.map((f) => f.fileId)).toEqual([fileId]);

    // An explicit reprocess runs again and says so with a new event.
    const reprocess = await alice.request('POST', `/files/${fileId}/reprocess`);
    expect(reprocess).toMatchObject({ status: 202, body: { fileId, status: 'UPLOADED' } });
    expect(await eventsFor(fileId, 1, 30_000)).toEqual(['file.processed']);
    const again = await waitForFile(alice, fileId, (f) => f.processedAt !== file.processedAt);
    expect(again).toMatchObject({ status: 'PROCESSED', sha256: file.sha256 });
  });

  it('rejects a file whose bytes contradict its declared type, then deletes it for good', async () => {
    const fileId = await uploadFile(alice, 'invoice.jpg', 'image/jpeg', HTML_PAGE);
    const file = await waitForFile(alice, fileId);
    expect(file.status).toBe('REJECTED');
    expect(file.reason).toBe(
      "The file's bytes are an HTML document (text/html), but it was declared as image/jpeg.",
    );
    expect(await eventsFor(fileId, 1, 15_000)).toEqual(['file.rejected']);

    // Deleting it removes every stored version, answers 404 afterwards, and says so on the bus.
    expect((await alice.request('DELETE', `/files/${fileId}`)).status).toBe(204);
    expect((await alice.request('DELETE', `/files/${fileId}`)).status).toBe(204);
    expect((await alice.request('GET', `/files/${fileId}`)).status).toBe(404);
    expect((await alice.request('POST', `/files/${fileId}/reprocess`)).status).toBe(404);
    const versions = await s3.send(
      new ListObjectVersionsCommand({ Bucket: outputs.BucketName, Prefix: objectKeyOf(file) }),
    );
    expect([...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]).toEqual([]);
    expect(await eventsFor(fileId, 1, 15_000)).toEqual(['file.deleted']);
  });

  it("keeps each user's files from the other: list, read, download, delete, reprocess", async () => {
    const jpeg = await makeJpeg(320, 240);
    const mine = await uploadFile(alice, 'alice-only.jpg', 'image/jpeg', jpeg);
    const theirs = await uploadFile(bob, 'bob-only.jpg', 'image/jpeg', jpeg);
    await waitForFile(alice, mine);
    await waitForFile(bob, theirs);
    expect(await eventsFor(mine, 1, 15_000)).toEqual(['file.processed']);
    expect(await eventsFor(theirs, 1, 15_000)).toEqual(['file.processed']);

    for (const [user, own, other] of [
      [alice, mine, theirs],
      [bob, theirs, mine],
    ] as const) {
      const list = await user.request<FilePage>('GET', '/files?limit=100');
      expect(list.body.items.map((f) => f.fileId)).toContain(own);
      expect(list.body.items.map((f) => f.fileId)).not.toContain(other);
      // Reading it (and so getting its download URLs), deleting it and reprocessing it all
      // answer 404, exactly like a file that does not exist.
      for (const [method, path] of [
        ['GET', `/files/${other}`],
        ['DELETE', `/files/${other}`],
        ['POST', `/files/${other}/reprocess`],
      ] as const) {
        const response = await user.request<{ error: { code: string } }>(method, path);
        expect(response.status, `${method} ${path}`).toBe(404);
        expect(response.body.error.code).toBe('NOT_FOUND');
      }
    }
    // Both files are untouched: still there, still processed, no event from the attempts.
    expect((await alice.request<FileView>('GET', `/files/${mine}`)).body.status).toBe('PROCESSED');
    expect((await bob.request<FileView>('GET', `/files/${theirs}`)).body.status).toBe('PROCESSED');
    expect(await eventsFor(mine, 0, 3_000)).toEqual([]);
    expect(await eventsFor(theirs, 0, 1_000)).toEqual([]);
  });

  it('retries a message the processor cannot understand, then parks it in the DLQ', async () => {
    const queueUrl = outputs.IngestQueueUrl ?? '';
    const body = JSON.stringify({ note: 'not an S3 event', id: Date.now() });
    // The deployed visibility timeout is 6 × the processor's (30 minutes); shorten it while
    // this test runs so the retries happen in seconds, and put it back afterwards.
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }),
    );
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: '3' } }),
    );
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      // The DLQ may hold other messages (it is the stack's own); look for this one.
      const deadline = Date.now() + 90_000;
      let parked: Message | undefined;
      while (!parked && Date.now() < deadline) {
        const messages = await receive(sqs, outputs.DeadLetterQueueUrl ?? '', 10, 2_000);
        parked = messages.find((m) => m.Body === body);
      }
      expect(parked?.Body).toBe(body);
      // It reached the DLQ only after maxReceiveCount (3) deliveries; this receive adds one.
      expect(Number(parked?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(4);
      if (parked?.ReceiptHandle) {
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: outputs.DeadLetterQueueUrl,
            ReceiptHandle: parked.ReceiptHandle,
          }),
        );
      }
    } finally {
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: { VisibilityTimeout: Attributes?.VisibilityTimeout ?? '1800' },
        }),
      );
    }
  });

  it("lists the caller's files through the API, filtered and paged with a cursor", async () => {
    const text = Buffer.from('hello, list\n');
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add(await uploadFile(bob, `page-${i}.txt`, 'text/plain', text));
    for (const id of ids) await waitForFile(bob, id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `contentType=text/plain&status=PROCESSED&sort=filename&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { body: FilePage } = await bob.request<FilePage>('GET', `/files?${query}`);
      seen.push(...page.body.items.map((f) => f.filename));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['page-0.txt', 'page-1.txt', 'page-2.txt']);

    const first = await bob.request<FilePage>('GET', '/files?limit=1');
    const tampered = await bob.request<{ error: { message: string } }>(
      'GET',
      `/files?limit=1&cursor=${encodeURIComponent(`${first.body.nextCursor}x`)}`,
    );
    expect(tampered.status).toBe(400);
    // A cursor is bound to its user: Alice cannot page with Bob's.
    const foreign = await alice.request(
      'GET',
      `/files?limit=1&cursor=${encodeURIComponent(first.body.nextCursor ?? '')}`,
    );
    expect(foreign.status).toBe(400);
  });

  it('answers hostile requests with a 4xx and a clear message, never a 500', async () => {
    const expectError = async (
      response: Promise<{ status: number; body: unknown }>,
      status: number,
      message: RegExp,
    ) => {
      const { status: actual, body } = await response;
      expect(actual).toBe(status);
      expect((body as { error: { message: string } }).error.message).toMatch(message);
    };
    await expectError(alice.request('POST', '/uploads', { rawBody: '{"filename":' }), 400, /JSON/);
    await expectError(alice.request('POST', '/uploads', { body: [1, 2] }), 400, /object/);
    await expectError(
      alice.request('POST', '/uploads', {
        body: { filename: 'a.txt', contentType: 'text/plain', size: '12' },
      }),
      400,
      /size/,
    );
    await expectError(
      alice.request('POST', '/uploads', {
        body: { filename: 'x'.repeat(200_000), contentType: 'text/plain', size: 1 },
      }),
      413,
      /bytes/,
    );
    await expectError(
      alice.request('POST', '/uploads', {
        body: { filename: 'a.exe', contentType: 'application/x-msdownload', size: 1 },
      }),
      415,
      /not accepted/,
    );
    await expectError(alice.request('GET', '/files?limit=100000000000'), 400, /limit/);
    await expectError(alice.request('GET', '/files?sort=password'), 400, /sort/);
    const sql = await alice.request<FilePage>(
      'GET',
      `/files?q=${encodeURIComponent("' OR 1=1; DROP TABLE files; --")}`,
    );
    expect(sql).toMatchObject({ status: 200, body: { items: [] } });
    await expectError(alice.request('GET', '/files/not-a-file-id'), 404, /No file/);
  });

  it('refuses requests without a valid token', async () => {
    const body = { filename: 'a.txt', contentType: 'text/plain', size: 1 };
    const none = await anonymous.request<{ error: { code: string } }>('POST', '/uploads', {
      body,
    });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    // The console can read it (a 401 sends it back to sign-in): API Gateway's own errors name
    // the stage's first origin, the console's.
    if (target.consoleUrl) {
      expect(none.headers.get('access-control-allow-origin')).toBe(
        new URL(target.consoleUrl).origin,
      );
    }
    const forged = new ApiClient(target.restUrl, 'eyJhbGciOiJSUzI1NiJ9.e30.AAAA');
    const bad = await forged.request<{ error: { code: string } }>('GET', '/files');
    expect([401, 403]).toContain(bad.status);
  });
});
