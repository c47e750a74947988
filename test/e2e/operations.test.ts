import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { STATE_DIR } from '../../scripts/lib/ministack.ts';
import { redrive, waitingIn } from '../../scripts/lib/redrive.ts';
import { objectKeyOf, uploadFile, waitForFile } from '../support/api-client.ts';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';
import { makeJpeg } from '../support/images.ts';

const target = inject('target');
const outputs = target.outputs as Record<string, string>;
const sqs = new SQSClient(target.aws);
const s3 = new S3Client({ ...target.aws, forcePathStyle: Boolean(target.aws.endpoint) });
const QUEUES = {
  ingest: { dlq: outputs.DeadLetterQueueUrl ?? '', source: outputs.IngestQueueUrl ?? '' },
  notifier: {
    dlq: outputs.NotificationsDeadLetterQueueUrl ?? '',
    source: outputs.NotificationsQueueUrl ?? '',
  },
};
// The CLI keeps its journal here for the local stage; other targets use the library directly.
const journalDir =
  target.name === 'local' ? join(STATE_DIR, 'redrive') : mkdtempSync(join(tmpdir(), 'redrive-'));
const journalOf = (queue: keyof typeof QUEUES) => join(journalDir, `local-${queue}.jsonl`);

/** `npm run redrive` on the local stack; the same work through the library elsewhere. */
const runRedrive = async (queue: keyof typeof QUEUES, dryRun = false): Promise<string> => {
  if (target.name === 'local') {
    const args = ['tsx', 'scripts/redrive.ts', '--stage', 'local', '--queue', queue];
    const { stdout } = await promisify(execFile)('npx', dryRun ? [...args, '--dry-run'] : args, {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, SYNCFLOW_LOCAL_JSON: inject('localJson') ?? '' },
    });
    return stdout;
  }
  const lines: string[] = [];
  await redrive({
    sqs,
    deadLetterQueueUrl: QUEUES[queue].dlq,
    sourceQueueUrl: QUEUES[queue].source,
    dryRun,
    journalFile: journalOf(queue),
    log: (line) => lines.push(line),
  });
  return lines.join('\n');
};

const until = async (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

describe(`dead-letter redrive on the ${target.name} stack`, () => {
  let carol: E2eUser;
  let removeUsers: () => Promise<void> = async () => {};
  let socket: WebSocket;
  const received: { type: string; eventId: string; fileId: string }[] = [];

  beforeAll(async () => {
    const fresh = await freshUsers(target, ['carol']);
    removeUsers = fresh.remove;
    [carol] = fresh.users as [E2eUser];
    socket = new WebSocket(`${target.websocketUrl}?token=${encodeURIComponent(carol.token)}`);
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
  });

  afterAll(async () => {
    socket?.close();
    await removeUsers();
  });

  it('moves nothing on a dry run, and delivers each parked event exactly once after an interrupted run', async () => {
    const run = randomUUID().slice(0, 8);
    const events = Array.from({ length: 6 }, (_, i) => ({
      version: '0',
      id: `redrive-${run}-${i}`,
      'detail-type': 'file.processed',
      source: 'syncflow.files',
      account: '000000000000',
      time: new Date().toISOString(),
      region: target.region,
      resources: [],
      detail: {
        fileId: randomUUID(),
        ownerId: carol.ownerId,
        status: 'PROCESSED',
        size: 1,
        contentType: 'text/plain',
      },
    }));
    const before = await waitingIn(sqs, QUEUES.notifier.dlq);
    // Parked as the notifier's DLQ holds them: the bus event as the message body.
    const parked = new Set<string>();
    for (const event of events) {
      const sent = await sqs.send(
        new SendMessageCommand({
          QueueUrl: QUEUES.notifier.dlq,
          MessageBody: JSON.stringify(event),
        }),
      );
      parked.add(sent.MessageId ?? '');
    }
    await until(
      async () => (await waitingIn(sqs, QUEUES.notifier.dlq)) >= before + 6,
      10_000,
      'the parked messages',
    );

    const dry = await runRedrive('notifier', true);
    expect(dry).toMatch(/nothing was moved/);
    // It lists the ids it would move, each once, at most ten (the runbook's promise).
    const listed = [...dry.matchAll(/^would move (\S+)$/gm)].map((m) => m[1] as string);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.length).toBeLessThanOrEqual(10);
    expect(new Set(listed).size).toBe(listed.length);
    if (before === 0) expect(listed.every((id) => parked.has(id))).toBe(true);
    expect(await waitingIn(sqs, QUEUES.notifier.dlq)).toBe(before + 6);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(received).toEqual([]);

    // A run that stops on its third delete: messages sent but not deleted are in its journal.
    let deletes = 0;
    const flaky = new Proxy(sqs, {
      get(client, property) {
        if (property !== 'send') return Reflect.get(client, property);
        return async (command: unknown) => {
          if (command instanceof DeleteMessageCommand && ++deletes === 3) {
            throw new Error('the operator pressed Ctrl-C');
          }
          return client.send(command as never);
        };
      },
    }) as SQSClient;
    await expect(
      redrive({
        sqs: flaky,
        deadLetterQueueUrl: QUEUES.notifier.dlq,
        sourceQueueUrl: QUEUES.notifier.source,
        dryRun: false,
        method: 'loop',
        journalFile: journalOf('notifier'),
      }),
    ).rejects.toThrow(/Ctrl-C/);

    const output = await runRedrive('notifier');
    expect(output).toMatch(/finished .* \(sent by an earlier run\)/);
    const ours = new Set(events.map((e) => e.id));
    const mine = () => received.filter((m) => ours.has(m.eventId));
    await until(() => mine().length >= 6, 30_000, 'every redriven event on the socket');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(
      mine()
        .map((m) => m.eventId)
        .sort(),
    ).toEqual([...ours].sort());
    await until(
      async () => (await waitingIn(sqs, QUEUES.notifier.dlq)) === 0,
      10_000,
      'an empty DLQ',
    );
  });

  it('puts a parked ingest message back, and the processor then takes it', async () => {
    // A file that FAILED (a truncated JPEG), as one whose last try ended in the DLQ would have.
    const jpeg = await makeJpeg(640, 480);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const fileId = await uploadFile(carol.api, 'parked.jpg', 'image/jpeg', truncated);
    const file = await waitForFile(carol.api, fileId);
    expect(file.status).toBe('FAILED');
    // Ends, not the runs' starts (file.processing), which are pushed too.
    const ends = () => received.filter((m) => m.fileId === fileId && m.type !== 'file.processing');
    await until(() => ends().length > 0, 30_000, 'the first event');
    const key = objectKeyOf(file);
    const head = await s3.send(new HeadObjectCommand({ Bucket: outputs.BucketName, Key: key }));
    // A reprocess request, as the files API sends it, that ended in the DLQ.
    const parked = {
      type: 'syncflow.reprocess',
      reprocessId: randomUUID(),
      bucket: outputs.BucketName,
      key,
      ...(head.VersionId && { versionId: head.VersionId }),
    };
    await sqs.send(
      new SendMessageCommand({ QueueUrl: QUEUES.ingest.dlq, MessageBody: JSON.stringify(parked) }),
    );
    const output = await runRedrive('ingest');
    expect(output).toMatch(/moved|move task completed/);
    // The processor ran it again (FAILED may be tried again) and said so.
    await until(() => ends().length >= 2, 30_000, 'the event of the redriven message');
    expect(ends().map((m) => m.type)).toEqual(['file.failed', 'file.failed']);
    await until(
      async () => (await waitingIn(sqs, QUEUES.ingest.dlq)) === 0,
      10_000,
      'an empty ingest DLQ',
    );
  });
});
