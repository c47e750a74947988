import { createHash } from 'node:crypto';
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
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listenToBus, receive } from '../support/emulator-resources.ts';
import { objectCreatedEvent } from '../support/events.ts';
import { HTML_PAGE, makeJpeg } from '../support/images.ts';

const stack = inject('stack');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const clientConfig = { endpoint: stack.endpoint, region: stack.region, credentials };
const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
const sqs = new SQSClient(clientConfig);
const eventBridge = new EventBridgeClient(clientConfig);
const db = new pg.Client({ connectionString: stack.databaseUrl });
let eventsQueueUrl = '';

interface FileRow {
  file_id: string;
  owner_id: string;
  filename: string;
  status: string;
  size: string;
  content_type: string;
  sha256: string | null;
  reason: string | null;
  bucket: string;
  object_key: string;
  metadata: { image?: { width: number; height: number } };
  derivatives: { key: string; width: number; height: number; contentType: string }[];
}

/** What a browser does: ask for an upload, then POST the file to the presigned form. */
const upload = async (filename: string, contentType: string, data: Buffer): Promise<string> => {
  const response = await fetch(`${stack.restUrl}uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ filename, contentType, size: data.length }),
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as {
    fileId: string;
    upload: { url: string; fields: Record<string, string> };
  };
  const form = new FormData();
  for (const [name, value] of Object.entries(body.upload.fields)) form.append(name, value);
  form.append('file', new Blob([data], { type: contentType }), filename);
  const posted = await fetch(body.upload.url, { method: 'POST', body: form });
  expect(posted.status).toBeLessThan(300);
  return body.fileId;
};

const fileRow = async (fileId: string): Promise<FileRow | undefined> =>
  (await db.query<FileRow>('SELECT * FROM files WHERE file_id = $1', [fileId])).rows[0];

const waitForEnd = async (fileId: string, timeoutMs = 60_000): Promise<FileRow> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await fileRow(fileId);
    if (row && ['PROCESSED', 'FAILED', 'REJECTED'].includes(row.status)) return row;
    if (Date.now() > deadline)
      throw new Error(`${fileId} still ${row?.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/**
 * Every event about `fileId` seen on the bus listener within `timeoutMs`, stopping early once
 * `expected` have arrived. Events about other files are left for their own tests.
 */
const eventsFor = async (fileId: string, expected: number, timeoutMs: number) => {
  const found: { 'detail-type': string; detail: { fileId: string } }[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (expected === 0 || found.length < expected)) {
    for (const message of await receive(sqs, eventsQueueUrl, 10, 1_000)) {
      const event = JSON.parse(message.Body ?? '{}') as {
        'detail-type': string;
        detail: { fileId: string };
      };
      if (event.detail.fileId === fileId) {
        found.push(event);
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: eventsQueueUrl,
            ReceiptHandle: message.ReceiptHandle,
          }),
        );
      }
    }
  }
  return found;
};

/** Waits until the processor has taken and deleted every message (a failed one would stay in flight). */
const waitForDrained = async (queueUrl: string, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    if (
      Attributes?.ApproximateNumberOfMessages === '0' &&
      Attributes.ApproximateNumberOfMessagesNotVisible === '0'
    )
      return;
    if (Date.now() > deadline)
      throw new Error(`${queueUrl} still holds messages: ${JSON.stringify(Attributes)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

describe(`end to end on the ${process.env.SYNCFLOW_TARGET ?? 'local'} stack`, () => {
  beforeAll(async () => {
    await db.connect();
    eventsQueueUrl = await listenToBus({ sqs, eventBridge }, stack.outputs.EventBusName ?? '');
  });

  afterAll(async () => {
    await db.end();
  });

  it('takes an image from presigned POST to PROCESSED with its metadata and downloadable derivatives, once', async () => {
    const jpeg = await makeJpeg(1600, 1200);
    const filename = 'Été à la mer 🌊 — photo (1).jpg';
    const fileId = await upload(filename, 'image/jpeg', jpeg);
    const file = await waitForEnd(fileId);
    expect(file).toMatchObject({
      status: 'PROCESSED',
      filename,
      size: String(jpeg.length),
      content_type: 'image/jpeg',
      sha256: createHash('sha256').update(jpeg).digest('hex'),
    });
    expect(file.metadata.image).toMatchObject({ width: 1600, height: 1200 });
    // What the API says of it, and its downloads through the short-lived URLs, as a browser would.
    const api = await fetch(`${stack.restUrl}files/${fileId}`, {
      headers: { authorization: `Bearer ${stack.token}` },
    });
    expect(api.status).toBe(200);
    const described = (await api.json()) as {
      status: string;
      filename: string;
      download: { url: string };
      derivatives: { url: string }[];
    };
    expect(described).toMatchObject({ status: 'PROCESSED', filename });
    const original = await fetch(described.download.url);
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(jpeg)).toBe(true);
    const sizes: number[][] = [];
    for (const derivative of described.derivatives) {
      const response = await fetch(derivative.url);
      expect(response.status).toBe(200);
      const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      sizes.push([meta.width ?? 0, meta.height ?? 0]);
    }
    expect(sizes).toEqual([
      [256, 192],
      [1024, 768],
    ]);
    expect((await eventsFor(fileId, 1, 15_000)).map((e) => e['detail-type'])).toEqual([
      'file.processed',
    ]);

    // The same S3 event delivered three more times: still one record, no second event.
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: file.bucket, Key: file.object_key }),
    );
    const event = objectCreatedEvent(
      file.bucket,
      file.object_key,
      jpeg.length,
      head.VersionId ?? undefined,
    );
    const replay = {
      ...event,
      detail: {
        ...event.detail,
        object: { ...event.detail.object, etag: head.ETag?.replace(/"/g, '') },
      },
    };
    for (let i = 0; i < 3; i++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.outputs.IngestQueueUrl,
          MessageBody: JSON.stringify(replay),
        }),
      );
    }
    await waitForDrained(stack.outputs.IngestQueueUrl ?? '');
    expect(await eventsFor(fileId, 0, 5_000)).toEqual([]);
    const after = await fileRow(fileId);
    expect(after?.status).toBe('PROCESSED');
    expect(
      (await db.query('SELECT count(*)::int AS n FROM files WHERE file_id = $1', [fileId])).rows[0]
        .n,
    ).toBe(1);
  });

  it('rejects a file whose bytes contradict its declared type, with the reason', async () => {
    const fileId = await upload('invoice.jpg', 'image/jpeg', HTML_PAGE);
    const file = await waitForEnd(fileId);
    expect(file.status).toBe('REJECTED');
    expect(file.reason).toBe(
      "The file's bytes are an HTML document (text/html), but it was declared as image/jpeg.",
    );
    expect((await eventsFor(fileId, 1, 15_000)).map((e) => e['detail-type'])).toEqual([
      'file.rejected',
    ]);

    // Deleting it removes every stored version, answers 404 afterwards, and says so on the bus.
    const headers = { authorization: `Bearer ${stack.token}` };
    const url = `${stack.restUrl}files/${fileId}`;
    expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(204);
    expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(204);
    expect((await fetch(url, { headers })).status).toBe(404);
    const versions = await s3.send(
      new ListObjectVersionsCommand({ Bucket: file.bucket, Prefix: file.object_key }),
    );
    expect([...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]).toEqual([]);
    expect((await eventsFor(fileId, 1, 15_000)).map((e) => e['detail-type'])).toEqual([
      'file.deleted',
    ]);
  });

  it('retries a message the processor cannot understand, then parks it in the DLQ', async () => {
    const queueUrl = stack.outputs.IngestQueueUrl ?? '';
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
        const messages = await receive(sqs, stack.outputs.DeadLetterQueueUrl ?? '', 10, 2_000);
        parked = messages.find((m) => m.Body === body);
      }
      expect(parked?.Body).toBe(body);
      // It reached the DLQ only after maxReceiveCount (3) deliveries; this receive adds one.
      expect(Number(parked?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(4);
      if (parked?.ReceiptHandle) {
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: stack.outputs.DeadLetterQueueUrl,
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
    const headers = { authorization: `Bearer ${stack.token}` };
    const page = async (query: string) => {
      const response = await fetch(`${stack.restUrl}files?${query}`, { headers });
      expect(response.status).toBe(200);
      return (await response.json()) as {
        items: { filename: string; status: string }[];
        nextCursor: string | null;
      };
    };
    const first = await page('status=PROCESSED&contentType=image/*&limit=1');
    expect(first.items).toHaveLength(1);
    expect(first.items[0]?.status).toBe('PROCESSED');
    const named = await page(`q=${encodeURIComponent('Été à la mer')}`);
    expect(named.items.map((f) => f.filename)).toContain('Été à la mer 🌊 — photo (1).jpg');
    const tampered = await fetch(
      `${stack.restUrl}files?cursor=${encodeURIComponent(`${first.nextCursor}x`)}`,
      { headers },
    );
    expect(tampered.status).toBe(400);
  });

  it('refuses requests without a valid token', async () => {
    const body = JSON.stringify({ filename: 'a.txt', contentType: 'text/plain', size: 1 });
    const none = await fetch(`${stack.restUrl}uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(none.status).toBe(401);
    const forged = `${stack.token.slice(0, -4)}AAAA`;
    const bad = await fetch(`${stack.restUrl}uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}`, 'content-type': 'application/json' },
      body,
    });
    expect([401, 403]).toContain(bad.status);
  });
});
