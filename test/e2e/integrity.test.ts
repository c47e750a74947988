import { createHash } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type ApiClient,
  type FileView,
  objectKeyOf,
  postForm,
  requestUpload,
  uploadWithForm,
  waitForFile,
} from '../support/api-client.ts';
import { freshUsers } from '../support/e2e-users.ts';
import {
  type BusListener,
  busEvents,
  listenToBus,
  receive,
} from '../support/emulator-resources.ts';
import { HTML_PAGE, makeJpeg } from '../support/images.ts';

/**
 * The promises a hostile owner or a dying processor could break (issue 11): the bytes served are
 * the bytes checked, a deleted file leaves no copy, work per user is bounded, every file ends.
 */
const target = inject('target');
const s3 = new S3Client({ ...target.aws, forcePathStyle: Boolean(target.aws.endpoint) });
const sqs = new SQSClient(target.aws);
const eventBridge = new EventBridgeClient(target.aws);
const lambda = new LambdaClient(target.aws);
const outputs = target.outputs as Record<string, string>;
const bucket = outputs.BucketName ?? '';
let listener: BusListener;
let alice: ApiClient;
/** A user of the storm test alone: it spends its per-minute reprocess allowance. */
let stormer: ApiClient;

const sha256 = (data: Buffer | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined. */
const eventually = async <T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting: ${what}`);
    await sleep(500);
  }
};

/** Every stored version (and delete marker) of one key. */
const versionsOf = async (key: string): Promise<string[]> => {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
    .filter((v) => v.Key === key)
    .map((v) => v.VersionId ?? 'null');
};

let heard: ReturnType<typeof busEvents>;
/** The `file.*` events about one file seen on the bus within `ms`. */
const eventsFor = (fileId: string, ms: number) => heard(fileId, 0, ms);

/** Runs the scheduled sweeper now, as its schedule would. */
const sweep = async (): Promise<Record<string, number>> => {
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: outputs.SweeperFunctionName,
      Payload: Buffer.from(
        JSON.stringify({ source: 'aws.events', 'detail-type': 'Scheduled Event' }),
      ),
    }),
  );
  const text = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
  if (response.FunctionError) throw new Error(`The sweeper failed: ${text}`);
  return JSON.parse(text) as Record<string, number>;
};

describe(`integrity under misuse on the ${target.name} stack`, () => {
  let removeUsers: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const fresh = await freshUsers(target, ['mallory', 'stormer']);
    removeUsers = fresh.remove;
    [alice, stormer] = fresh.users.map((u) => u.api) as [ApiClient, ApiClient];
    listener = await listenToBus({ sqs, eventBridge }, outputs.EventBusName ?? '');
    heard = busEvents(sqs, listener);
  });

  afterAll(async () => {
    await listener?.remove();
    await removeUsers();
  });

  it('serves the checked bytes when the form is sent again with other bytes, and keeps no other version', async () => {
    const jpeg = await makeJpeg(640, 480);
    const { fileId, form } = await uploadWithForm(alice, 'holiday.jpg', 'image/jpeg', jpeg);
    const file = await waitForFile(alice, fileId);
    expect(file.status).toBe('PROCESSED');
    expect(await eventsFor(fileId, 5_000)).toEqual(['file.processed']);
    const key = objectKeyOf(file);
    const [checkedVersion] = await versionsOf(key);

    // The same form, still valid, with an HTML page padded to the same length.
    const forged = Buffer.concat([HTML_PAGE, Buffer.alloc(jpeg.length - HTML_PAGE.length, 0x20)]);
    expect(await postForm(form, 'holiday.jpg', 'image/jpeg', forged)).toBeLessThan(300);

    // The pipeline removes the unchecked version; the record and its URLs do not move.
    await eventually(
      async () => ((await versionsOf(key)).join() === checkedVersion ? true : undefined),
      `only the checked version of ${key} left`,
    );
    const after = (await alice.request<FileView>('GET', `/files/${fileId}`)).body;
    expect(after).toMatchObject({
      status: 'PROCESSED',
      sha256: sha256(jpeg),
      processedAt: file.processedAt,
    });
    const served = Buffer.from(await (await fetch(after.download?.url ?? '')).arrayBuffer());
    expect(sha256(served)).toBe(sha256(jpeg));
    for (const derivative of after.derivatives) {
      expect((await fetch(derivative.url)).status).toBe(200);
    }
    expect(await eventsFor(fileId, 3_000)).toEqual([]);
  });

  it('keeps no version of a deleted file, whatever its owner sends again', async () => {
    const data = Buffer.from('a note that will be deleted\n');
    const { fileId, form } = await uploadWithForm(alice, 'note.txt', 'text/plain', data);
    const file = await waitForFile(alice, fileId);
    const key = objectKeyOf(file);
    expect((await alice.request('DELETE', `/files/${fileId}`)).status).toBe(204);
    expect(await versionsOf(key)).toEqual([]);

    expect(await postForm(form, 'note.txt', 'text/plain', data)).toBeLessThan(300);
    await eventually(
      async () => ((await versionsOf(key)).length === 0 ? true : undefined),
      `no version of ${key} left after the re-sent form`,
    );
    expect((await alice.request('GET', `/files/${fileId}`)).status).toBe(404);
    const listed = await alice.request<{ items: { fileId: string }[] }>('GET', '/files?limit=100');
    expect(listed.body.items.map((f) => f.fileId)).not.toContain(fileId);
    expect(await eventsFor(fileId, 3_000)).toEqual(['file.processed', 'file.deleted']);
  });

  it('runs a reprocess storm once, and answers 429 with Retry-After past the per-user limit', async () => {
    // `fault-slow` (a local-stage fault) holds a reprocess run for twenty seconds, so the storm
    // lands while the first reprocess is queued or running.
    const jpeg = await makeJpeg(320, 240);
    const { fileId } = await uploadWithForm(stormer, 'fault-slow storm.jpg', 'image/jpeg', jpeg);
    const file = await waitForFile(stormer, fileId, undefined, 60_000);
    expect(file.status).toBe('PROCESSED');
    expect(await eventsFor(fileId, 1_000)).toEqual(['file.processed']);

    const stormStarted = Date.now();
    const storm = await Promise.all(
      Array.from({ length: 20 }, () =>
        stormer.request<{ reprocessId?: string }>('POST', `/files/${fileId}/reprocess`),
      ),
    );
    // Every request landed while the first run was queued or held: a later one could rightly
    // start a second run, and this test would prove nothing.
    expect(Date.now() - stormStarted, 'the storm outlasted one held run').toBeLessThan(20_000);
    const accepted = storm.filter((r) => r.status === 202);
    expect(storm.every((r) => r.status === 202 || r.status === 409)).toBe(true);
    expect(accepted.length).toBeGreaterThan(0);
    expect(new Set(accepted.map((r) => r.body.reprocessId)).size).toBe(1);
    await waitForFile(stormer, fileId, (f) => f.processedAt !== file.processedAt, 60_000);
    expect(await eventsFor(fileId, 8_000)).toEqual(['file.processed']);

    // Past the stage's per-user limit of reprocess requests a minute: 429 with Retry-After.
    let limited: { status: number; headers: Headers; body: unknown } | undefined;
    for (let i = 0; i < 70 && !limited; i++) {
      const response = await stormer.request('POST', `/files/${fileId}/reprocess`);
      if (response.status === 429) limited = response;
    }
    expect(limited?.body).toMatchObject({ error: { code: 'TOO_MANY_REQUESTS' } });
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('ends an upload whose URL expired unused as EXPIRED with a reason', async () => {
    const data = Buffer.from('never sent\n');
    const { fileId, form } = await requestUpload(alice, {
      filename: 'late.txt',
      contentType: 'text/plain',
      size: data.length,
      expiresInSeconds: 1,
    });
    await sleep(2_000);
    expect(await postForm(form, 'late.txt', 'text/plain', data)).toBe(403);
    const expired = await eventually(
      async () => {
        await sweep();
        const file = (await alice.request<FileView>('GET', `/files/${fileId}`)).body;
        return file.status === 'EXPIRED' ? file : undefined;
      },
      `${fileId} EXPIRED`,
      60_000,
    );
    expect(expired.reason).toMatch(/upload URL expired/);
    expect(expired.download).toBeNull();
    expect((await alice.request('POST', `/files/${fileId}/reprocess`)).status).toBe(409);
    const listed = await alice.request<{ items: { fileId: string }[] }>(
      'GET',
      '/files?status=EXPIRED',
    );
    expect(listed.body.items.map((f) => f.fileId)).toContain(fileId);
  });

  it('ends a file whose processor is killed on every delivery as FAILED, and reprocesses it', async () => {
    // A text file is of the `other` kind: its own queue, function and clock.
    const queueUrl = outputs.OtherQueueUrl ?? '';
    const dlqUrl = outputs.OtherDeadLetterQueueUrl ?? '';
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }),
    );
    // Redeliveries within seconds instead of the stage's visibility timeout.
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: '3' } }),
    );
    const data = Buffer.from('this file kills its processor\n');
    let fileId = '';
    try {
      // `fault-crash` (a local-stage fault) kills the processor's process, as running out of
      // memory does, on every delivery of the upload's event.
      ({ fileId } = await uploadWithForm(alice, 'fault-crash.txt', 'text/plain', data));
      const failed = await eventually(
        async () => {
          await sweep();
          const file = (await alice.request<FileView>('GET', `/files/${fileId}`)).body;
          return file.status === 'FAILED' ? file : undefined;
        },
        `${fileId} FAILED`,
        120_000,
      );
      expect(failed.reason).toMatch(/ran out of time or memory/);
      expect(await eventsFor(fileId, 3_000)).toEqual(['file.failed']);
    } finally {
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: { VisibilityTimeout: Attributes?.VisibilityTimeout ?? '180' },
        }),
      );
      // The parked message is this test's: take it out so no other test redrives it.
      for (const message of await receive(sqs, dlqUrl, 10, 2_000)) {
        if (fileId !== '' && message.Body?.includes(fileId)) {
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }),
          );
        } else {
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: dlqUrl,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            }),
          );
        }
      }
    }
    const reprocess = await alice.request('POST', `/files/${fileId}/reprocess`);
    expect(reprocess.status).toBe(202);
    const done = await waitForFile(alice, fileId, (f) => f.status === 'PROCESSED', 60_000);
    expect(done.sha256).toBe(sha256(data));
    expect(await eventsFor(fileId, 5_000)).toEqual(['file.processed']);
  });
});
