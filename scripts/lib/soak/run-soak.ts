import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import pg from 'pg';
import WebSocket from 'ws';
import { ApiError, type SocketLike } from '../../../client/src/index.ts';
import { stageConfig } from '../../../infra/stages.ts';
import { parseUploadKey } from '../../../shared/domain/keys.ts';
import { FILE_KINDS, type FileKind } from '../../../shared/domain/kinds.ts';
import { freshUsers } from '../../../test/support/e2e-users.ts';
import {
  emulatorClients,
  functionLogLines,
  listenToBus,
  receive,
} from '../../../test/support/emulator-resources.ts';
import type { Target } from '../../../test/support/targets.ts';
import { redrive } from '../redrive.ts';
import {
  type BusEventSeen,
  type CheckResult,
  checkSoak,
  type PushSeen,
  quantile,
  type RecordSeen,
  type UploadSeen,
} from './checks.ts';
import { requestOutage } from './db-proxy.ts';
import { type PlannedFile, planWorkload } from './workload.ts';

export interface SoakOptions {
  readonly files: number;
  readonly users: number;
  /** Uploads in flight at once, over all users. */
  readonly concurrency: number;
  /** Seconds each database outage lasts. */
  readonly outageSeconds: number;
  readonly seed: number;
  /** Files that crash their processor on every delivery (workload.ts). @default true */
  readonly crashAlways?: boolean;
  readonly log: (line: string) => void;
}

/** How the soak reaches the stack's database: directly, and the proxy the functions go through. */
export interface SoakDatabase {
  /** PostgreSQL itself, for reading the records at the end. */
  readonly directUrl: string;
  /** The proxy's control address (db-proxy.ts), for the outages. */
  readonly controlUrl: string;
}

/** What was injected, by type. */
const noFaults = () => ({
  processor_crash_once: 0,
  processor_crash_always: 0,
  db_outages: 0,
  db_connections_dropped: 0,
  db_connections_refused: 0,
  s3_event_copies: 0,
  ghost_connections: 0,
  ws_disconnects: 0,
  ws_reconnects: 0,
  ws_relists: 0,
});
export type FaultCounts = ReturnType<typeof noFaults>;

export interface SoakReport {
  /** The JSON line's figures. */
  readonly figures: {
    readonly faults: FaultCounts;
    readonly lost: number;
    readonly dlq_messages: number;
    readonly notifier_pushes_gone: number;
  } & Record<string, unknown>;
  readonly checks: CheckResult[];
}

/** Each kind's queue and DLQ, by the stack's output names (scripts/redrive.ts uses the same). */
const QUEUE_OUTPUTS: Record<FileKind, { queue: string; dlq: string }> = {
  image: { queue: 'IngestQueueUrl', dlq: 'DeadLetterQueueUrl' },
  tabular: { queue: 'TabularQueueUrl', dlq: 'TabularDeadLetterQueueUrl' },
  logs: { queue: 'LogsQueueUrl', dlq: 'LogsDeadLetterQueueUrl' },
  other: { queue: 'OtherQueueUrl', dlq: 'OtherDeadLetterQueueUrl' },
  video: { queue: 'VideoQueueUrl', dlq: 'VideoDeadLetterQueueUrl' },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const END_STATES = new Set(['PROCESSED', 'FAILED', 'REJECTED']);

/**
 * Runs the soak against a local stack whose functions reach PostgreSQL through `proxy`:
 * uploads the planned files from several users while faults are injected on a schedule, waits
 * for every file to end, redrives the DLQs, and checks what happened (checks.ts).
 *
 * The faults: files named to crash their processor once or on every delivery (the local
 * stage's fault injection); database outages at the proxy (every connection dropped, new ones
 * refused); every S3 event delivered two to four times, the copies sent to the kind's queue at
 * random delays (so out of order); ghost WebSocket connections (a connection record whose
 * client vanished without a $disconnect, which API Gateway answers 410 Gone) so the
 * notifier's pushes to them fail; and a second connection per user closed on a schedule,
 * which the client library reconnects, reading the list again each time.
 */
export const runSoak = async (
  target: Target,
  database: SoakDatabase,
  options: SoakOptions,
): Promise<SoakReport> => {
  const { log } = options;
  const started = Date.now();
  if (target.name !== 'local' || !target.aws.endpoint) {
    throw new Error("The soak injects the local stage's faults: it runs on the local stack only");
  }
  const clients = emulatorClients(target.aws.endpoint);
  const lambda = new LambdaClient(target.aws);
  const logs = new CloudWatchLogsClient(target.aws);
  const outputs = target.outputs;
  const faults = noFaults();
  const cleanups: (() => Promise<unknown>)[] = [];
  const db = new pg.Client({ connectionString: database.directUrl });
  await db.connect();
  cleanups.push(() => db.end());
  try {
    const plan = await planWorkload({
      files: options.files,
      users: options.users,
      seed: options.seed,
      ...(options.crashAlways === false && { crashAlways: false }),
    });
    const { users, remove } = await freshUsers(
      target,
      Array.from({ length: options.users }, (_, i) => `soak-${i}`),
    );
    cleanups.push(remove);
    log(`${users.length} users, ${plan.length} files planned`);

    // Redeliveries soon after the function's timeout instead of six times it (the stage's
    // visibility timeout), so a failed run is retried within the soak; never sooner than the
    // timeout: a slow run delivered again while it still holds its file spends a delivery (the
    // copy finds it in progress), and with the local stage's three a file could be parked
    // while it ends PROCESSED (seen with 35 s for the converters under load).
    const settings = stageConfig('local').processing;
    const originalVisibility = new Map<string, string>();
    const setVisibility = async (seconds: (kind: FileKind) => number) => {
      for (const kind of FILE_KINDS) {
        const QueueUrl = outputs[QUEUE_OUTPUTS[kind].queue] ?? '';
        if (!originalVisibility.has(QueueUrl)) {
          const { Attributes } = await clients.sqs.send(
            new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout'] }),
          );
          originalVisibility.set(QueueUrl, Attributes?.VisibilityTimeout ?? '180');
        }
        await clients.sqs.send(
          new SetQueueAttributesCommand({
            QueueUrl,
            Attributes: { VisibilityTimeout: String(seconds(kind)) },
          }),
        );
      }
    };
    await setVisibility((kind) => settings[kind].timeoutSeconds + 5);
    cleanups.push(async () => {
      for (const [QueueUrl, value] of originalVisibility) {
        await clients.sqs.send(
          new SetQueueAttributesCommand({ QueueUrl, Attributes: { VisibilityTimeout: value } }),
        );
      }
    });

    // What the stack published, and S3's own events to copy.
    const bus = await listenToBus(clients, outputs.EventBusName ?? '');
    cleanups.push(() => bus.remove());
    const s3Events = await listenToBus(clients, 'default', {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [outputs.BucketName] },
        object: { key: [{ prefix: 'uploads/' }] },
      },
    });
    cleanups.push(() => s3Events.remove());

    // Each user's steady connection: it must hear every event of its owner.
    const pushes: PushSeen[] = [];
    const sockets: WebSocket[] = [];
    const steadyOwners = new Set<string>();
    for (const user of users) {
      const socket = new WebSocket(
        `${target.websocketUrl}?token=${encodeURIComponent(user.token)}`,
      );
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as {
          type?: string;
          eventId?: string;
          fileId?: string;
        };
        if (!message.type?.startsWith('file.') || !message.eventId || !message.fileId) return;
        pushes.push({
          ownerId: user.ownerId,
          eventId: message.eventId,
          fileId: message.fileId,
          type: message.type,
          at: Date.now(),
        });
      });
      socket.on('close', () => steadyOwners.delete(user.ownerId));
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      steadyOwners.add(user.ownerId);
      sockets.push(socket);
    }
    const ping = setInterval(() => {
      for (const socket of sockets) socket.send(JSON.stringify({ action: 'ping' }));
    }, 60_000);
    cleanups.push(async () => {
      clearInterval(ping);
      for (const socket of sockets) socket.close();
    });
    const everConnected = [...steadyOwners];

    // Each user's flapping connection, through the client library, closed on a schedule.
    let reconnects = 0;
    let relists = 0;
    const flapping: { current?: SocketLike }[] = users.map(() => ({}));
    const subscriptions = users.map((user, i) =>
      user.client.subscribe({
        onEvent: () => {},
        onReconnect: () => {
          reconnects++;
          // The contract: events sent while away are lost, so the client reads the list again.
          void user.client.api.listFiles({ limit: 100 }).then(
            () => relists++,
            () => {},
          );
        },
        socket: (url) => {
          const socket = new WebSocket(url) as unknown as SocketLike;
          (flapping[i] as { current?: SocketLike }).current = socket;
          return socket;
        },
      }),
    );
    cleanups.push(async () => {
      for (const subscription of subscriptions) subscription.close();
    });

    // S3 events delivered two to four times: copies sent to the kind's queue, late and shuffled.
    let copying = true;
    const pendingCopies = new Set<Promise<void>>();
    const copier = (async () => {
      while (copying) {
        for (const message of await receive(clients.sqs, s3Events.queueUrl, 10, 1_000)) {
          const body = message.Body ?? '';
          const key = (JSON.parse(body) as { detail?: { object?: { key?: string } } }).detail
            ?.object?.key;
          const kind = key?.split('/')[1] as FileKind | undefined;
          const queueUrl = kind && outputs[QUEUE_OUTPUTS[kind]?.queue ?? ''];
          if (queueUrl) {
            const copies = 1 + Math.floor(Math.random() * 3);
            for (let c = 0; c < copies; c++) {
              const copy = sleep(Math.random() * 8_000)
                .then(() =>
                  clients.sqs.send(
                    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }),
                  ),
                )
                .then(
                  () => {
                    faults.s3_event_copies++;
                  },
                  (error: unknown) => log(`could not copy an S3 event: ${String(error)}`),
                )
                .finally(() => pendingCopies.delete(copy));
              pendingCopies.add(copy);
            }
          }
          await clients.sqs.send(
            new DeleteMessageCommand({
              QueueUrl: s3Events.queueUrl,
              ReceiptHandle: message.ReceiptHandle,
            }),
          );
        }
      }
    })();

    // Ghost connections and flaps, every few seconds while files move.
    let scheduling = true;
    const connectionsTable = outputs.ConnectionsTableName ?? '';
    const scheduler = (async () => {
      let tick = 0;
      while (scheduling) {
        await sleep(5_000);
        tick++;
        const user = users[tick % users.length];
        if (!user) continue;
        if (tick % 2 === 0) {
          // A client gone without a $disconnect: its record stays until a push finds it gone.
          await clients.dynamo
            .send(
              new PutItemCommand({
                TableName: connectionsTable,
                Item: {
                  connectionId: { S: `soakghost${randomBytes(6).toString('hex')}=` },
                  ownerId: { S: user.ownerId },
                  connectedAt: { N: String(Math.floor(Date.now() / 1000)) },
                  expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
                },
              }),
            )
            .then(() => faults.ghost_connections++)
            .catch((error: unknown) => log(`could not add a ghost connection: ${String(error)}`));
        } else {
          const socket = flapping[tick % users.length]?.current;
          if (socket && socket.readyState === 1) {
            socket.close();
            faults.ws_disconnects++;
          }
        }
      }
    })();

    // The uploads, `concurrency` at a time; database outages at a quarter and at three fifths.
    const uploads: UploadSeen[] = [];
    const abandoned: string[] = [];
    const outageAt = new Set([Math.floor(plan.length * 0.25), Math.floor(plan.length * 0.6)]);
    const outages: Promise<void>[] = [];
    let next = 0;
    let done = 0;
    const uploadOne = async (file: PlannedFile): Promise<UploadSeen> => {
      const user = users[file.user];
      if (!user) throw new Error(`no user ${file.user}`);
      const base = { index: file.index, ownerId: user.ownerId, expected: file.expected };
      if (file.declaredSize !== undefined) {
        try {
          const created = await user.client.api.createUpload({
            filename: file.filename,
            contentType: file.contentType,
            size: file.declaredSize,
          });
          return { ...base, fileId: created.fileId };
        } catch (error) {
          return { ...base, refusedWith: error instanceof ApiError ? error.status : 0 };
        }
      }
      if (file.fault === 'crash-once') faults.processor_crash_once++;
      if (file.fault === 'crash') faults.processor_crash_always++;
      let lastStatus = 0;
      let lastError = '';
      // A user whose upload failed (the API answered 5xx while the database was away) tries
      // again, as the CLI and the console let them; a record made by a failed try is left.
      for (let attempt = 1; attempt <= 10; attempt++) {
        let recorded: string | undefined;
        try {
          const result = await user.client.uploader.upload(
            new File([new Uint8Array(file.bytes)], file.filename, { type: file.contentType }),
            {
              onStarted: ({ fileId }) => {
                recorded = fileId;
              },
            },
          );
          return { ...base, fileId: result.fileId, uploadedAt: Date.now() };
        } catch (error) {
          lastStatus = error instanceof ApiError ? error.status : -1;
          lastError = (error as Error).message;
          if (recorded) abandoned.push(recorded);
          // A 4xx other than 429 is the file's own fault: trying again cannot help.
          const status = error instanceof ApiError ? error.status : 0;
          if (status >= 400 && status < 500 && status !== 429) break;
          await sleep(1_000 * attempt);
        }
      }
      log(`gave up on ${file.filename}: ${lastStatus} ${lastError}`);
      return { ...base, refusedWith: lastStatus };
    };
    const worker = async (): Promise<void> => {
      while (next < plan.length) {
        const file = plan[next++] as PlannedFile;
        uploads.push(await uploadOne(file));
        done++;
        if (outageAt.has(done)) {
          faults.db_outages++;
          log(`database outage of ${options.outageSeconds} s after ${done} uploads`);
          outages.push(
            requestOutage(database.controlUrl, options.outageSeconds * 1000).then((stats) => {
              faults.db_connections_dropped += stats.dropped;
              faults.db_connections_refused += stats.refused;
            }),
          );
        }
        if (done % 100 === 0) log(`${done} of ${plan.length} uploaded`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    await Promise.all(outages);
    const uploadSeconds = (Date.now() - started) / 1000;
    log(
      `all ${plan.length} uploads answered in ${uploadSeconds.toFixed(0)} s; waiting for end states`,
    );

    const owners = users.map((u) => u.ownerId);
    const readRecords = async (): Promise<RecordSeen[]> =>
      (
        await db.query<{
          file_id: string;
          owner_id: string;
          status: string;
          reason: string | null;
          object_key: string;
        }>(
          'SELECT file_id, owner_id, status, reason, object_key FROM files WHERE owner_id = ANY($1)',
          [owners],
        )
      ).rows.map((r) => ({
        fileId: r.file_id,
        ownerId: r.owner_id,
        status: r.status,
        reason: r.reason,
        key: r.object_key,
      }));
    const sweep = () =>
      lambda
        .send(
          new InvokeCommand({
            FunctionName: outputs.SweeperFunctionName,
            Payload: Buffer.from(
              JSON.stringify({ source: 'aws.events', 'detail-type': 'Scheduled Event' }),
            ),
          }),
        )
        .catch((error: unknown) => log(`the sweeper could not be invoked: ${String(error)}`));
    const wanted = uploads.flatMap((u) => (u.fileId && u.expected !== 'REFUSED' ? [u.fileId] : []));
    /** Waits until every file of `ids` is in an end state; returns the last records read. */
    const settle = async (ids: readonly string[], timeoutMs: number): Promise<RecordSeen[]> => {
      const deadline = Date.now() + timeoutMs;
      let lastSweep = 0;
      for (;;) {
        const records = await readRecords();
        const byId = new Map(records.map((r) => [r.fileId, r.status]));
        const open = ids.filter((id) => !END_STATES.has(byId.get(id) ?? ''));
        if (open.length === 0 || Date.now() > deadline) {
          if (open.length > 0) log(`${open.length} files never ended, e.g. ${open.slice(0, 3)}`);
          return records;
        }
        // The stage sweeps every minute; sooner here, so stuck runs end within the soak.
        if (Date.now() - lastSweep > 15_000) {
          lastSweep = Date.now();
          await sweep();
        }
        await sleep(2_000);
      }
    };
    const settleMs = Math.max(300_000, options.files * 600);
    await settle(wanted, settleMs);
    scheduling = false;
    await scheduler;
    copying = false;
    await copier;
    await Promise.all(pendingCopies);
    // Late copies and the notifier's retries: until every file's message reached its owner, or
    // 20 s, before counting.
    const pushedAll = Date.now() + 20_000;
    while (Date.now() < pushedAll) {
      const told = new Set(pushes.filter((p) => p.type !== 'file.processing').map((p) => p.fileId));
      if (wanted.every((id) => told.has(id))) break;
      await sleep(500);
    }
    const records = await settle(wanted, 60_000);

    // Everything the bus listener heard.
    const busEvents: BusEventSeen[] = [];
    for (;;) {
      const messages = await receive(clients.sqs, bus.queueUrl, 10, 2_000);
      if (messages.length === 0) break;
      for (const message of messages) {
        const event = JSON.parse(message.Body ?? '{}') as {
          id: string;
          'detail-type': string;
          detail: { fileId: string; ownerId: string; outcomeId?: string };
        };
        busEvents.push({
          id: event.id,
          type: event['detail-type'],
          fileId: event.detail.fileId,
          ownerId: event.detail.ownerId,
          ...(event.detail.outcomeId && { outcomeId: event.detail.outcomeId }),
        });
        await clients.sqs.send(
          new DeleteMessageCommand({
            QueueUrl: bus.queueUrl,
            ReceiptHandle: message.ReceiptHandle,
          }),
        );
      }
    }

    // The DLQs: which file each message is about; then every message back where it came from.
    const deadLetters: string[] = [];
    for (const kind of FILE_KINDS) {
      const dlq = outputs[QUEUE_OUTPUTS[kind].dlq] ?? '';
      const messages = await receive(clients.sqs, dlq, 1_000, 3_000);
      for (const message of messages) {
        const key = (JSON.parse(message.Body ?? '{}') as { detail?: { object?: { key?: string } } })
          .detail?.object?.key;
        const ids = parseUploadKey(key ?? '');
        // Another test's message (the end-to-end suite shares its stack) is not the soak's to
        // explain; a message nobody can read is.
        if (!ids) deadLetters.push(`unreadable message ${message.MessageId}`);
        else if (owners.includes(ids.ownerId)) deadLetters.push(ids.fileId);
        await clients.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: dlq,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
    log(`${deadLetters.length} messages in the DLQs; redriving them`);
    // Quick redeliveries while the queues are otherwise idle, as the end-to-end suite does.
    await setVisibility(() => 3);
    const journalDir = mkdtempSync(join(tmpdir(), 'syncflow-soak-redrive-'));
    let redriven = 0;
    try {
      for (const kind of FILE_KINDS) {
        const moved = await redrive({
          sqs: clients.sqs,
          deadLetterQueueUrl: outputs[QUEUE_OUTPUTS[kind].dlq] ?? '',
          sourceQueueUrl: outputs[QUEUE_OUTPUTS[kind].queue] ?? '',
          dryRun: false,
          journalFile: join(journalDir, `${kind}.jsonl`),
        });
        redriven += moved.moved.length;
      }
    } finally {
      rmSync(journalDir, { recursive: true, force: true });
    }
    // The outcomes so far are the ones checked; a redriven file's run is a new one.
    const pushesBeforeRedrive = pushes.length;
    // The redriven messages' deliveries: until the kinds' queues are empty and their files ended.
    // A file that crashes on every delivery takes three deliveries again, each after the claim
    // of the crashed run ends (its function's timeout), then the sweeper's grace: three minutes
    // were too few under load (the 2026-12-01 evening run).
    const redriveDeadline = Date.now() + 360_000;
    let afterRecords = records;
    while (deadLetters.length > 0 && Date.now() < redriveDeadline) {
      let waiting = 0;
      for (const kind of FILE_KINDS) {
        const { Attributes } = await clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: outputs[QUEUE_OUTPUTS[kind].queue] ?? '',
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          }),
        );
        waiting +=
          Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
          Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      }
      afterRecords = await readRecords();
      const status = new Map(afterRecords.map((r) => [r.fileId, r.status]));
      if (waiting === 0 && deadLetters.every((id) => END_STATES.has(status.get(id) ?? ''))) break;
      await sweep();
      await sleep(3_000);
    }
    const afterRedrive = new Map(afterRecords.map((r) => [r.fileId, r.status]));

    // The processors' own logs: runs that finished a file, and replays the idempotency stopped.
    const runsByFile = new Map<string, number>();
    const soakFiles = new Set(records.map((r) => r.fileId));
    let duplicatesSuppressed = 0;
    let inProgressRetries = 0;
    let pushesToGone = 0;
    let pushesFailed = 0;
    for (const line of await functionLogLines(logs, /Processor|Notifier/, started)) {
      if (!line.fileId || !soakFiles.has(line.fileId)) continue;
      if (line.message === 'Owner notified') pushesToGone += line.gone ?? 0;
      else if (line.message === 'Push failed') pushesFailed++;
      else if (line.message === 'File finished' && !line.reprocessId) {
        runsByFile.set(line.fileId, (runsByFile.get(line.fileId) ?? 0) + 1);
      } else if (line.message === 'Duplicate event skipped') duplicatesSuppressed++;
      else if (line.message?.startsWith('The same object is being processed elsewhere')) {
        inProgressRetries++;
      }
    }

    // The bucket's objects of these users.
    const objectKeys: string[] = [];
    for (const prefix of ['uploads/', 'derived/']) {
      let token: string | undefined;
      do {
        const page = await clients.s3.send(
          new ListObjectsV2Command({
            Bucket: outputs.BucketName,
            Prefix: prefix,
            ContinuationToken: token,
          }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key && owners.some((owner) => object.Key?.includes(`/${owner}/`))) {
            objectKeys.push(object.Key);
          }
        }
        token = page.NextContinuationToken;
      } while (token);
    }

    const checks = checkSoak({
      uploads,
      records,
      busEvents,
      pushes: pushes.slice(0, pushesBeforeRedrive),
      connectedOwners: everConnected.filter((owner) => steadyOwners.has(owner)),
      runsByFile,
      deadLetters,
      objectKeys,
      afterRedrive,
    });

    const byId = new Map(records.map((r) => [r.fileId, r]));
    const endStates: Record<string, number> = {};
    let lost = 0;
    const firstPush = new Map<string, number>();
    for (const push of pushes) {
      // Upload to the end's push: a run's start (file.processing) is not the event waited for.
      if (push.type !== 'file.processing' && !firstPush.has(push.fileId))
        firstPush.set(push.fileId, push.at);
    }
    const published = new Set(busEvents.map((e) => e.fileId));
    const latencies: number[] = [];
    for (const upload of uploads) {
      if (upload.expected === 'REFUSED') {
        endStates.REFUSED_413 = (endStates.REFUSED_413 ?? 0) + (upload.refusedWith === 413 ? 1 : 0);
        continue;
      }
      const record = upload.fileId ? byId.get(upload.fileId) : undefined;
      const status = record?.status ?? 'NONE';
      endStates[status] = (endStates[status] ?? 0) + 1;
      if (!upload.fileId || !END_STATES.has(status) || !published.has(upload.fileId)) lost++;
      const at = upload.fileId ? firstPush.get(upload.fileId) : undefined;
      if (at !== undefined && upload.uploadedAt !== undefined)
        latencies.push(at - upload.uploadedAt);
    }
    const pushedTwice =
      pushes.length - new Set(pushes.map((p) => `${p.ownerId} ${p.eventId}`)).size;
    const figures = {
      soak: 'faults',
      files: plan.length,
      users: users.length,
      kinds: plan.reduce<Record<string, number>>((counts, file) => {
        counts[file.label] = (counts[file.label] ?? 0) + 1;
        return counts;
      }, {}),
      duplicate_bytes: plan.filter((f) => f.duplicate).length,
      faults: { ...faults, ws_reconnects: reconnects, ws_relists: relists },
      end_states: endStates,
      duplicates_suppressed: duplicatesSuppressed,
      in_progress_retries: inProgressRetries,
      pushes_repeated_same_event_id: pushedTwice,
      // Publications of an outcome already published (a failure between its publication and
      // the record of it), each under its outcome's outcomeId.
      outcomes_republished:
        busEvents.filter((e) => e.outcomeId).length -
        new Set(busEvents.flatMap((e) => (e.outcomeId ? [e.outcomeId] : []))).size,
      // The notifier's side of the ghost connections: pushes API Gateway answered 410 Gone (the
      // connection is then forgotten), and pushes that failed otherwise (retried).
      notifier_pushes_gone: pushesToGone,
      notifier_pushes_failed: pushesFailed,
      runs_logged: runsByFile.size,
      abandoned_upload_records: abandoned.length,
      dlq_messages: deadLetters.length,
      redriven,
      // What the owners heard of the redriven files' new runs (file.processed when the cause is
      // gone; a run that fails again tells nothing new).
      pushes_after_redrive: pushes.length - pushesBeforeRedrive,
      lost,
      p50_upload_to_event_ms: Math.round(quantile(latencies, 0.5)),
      p95_upload_to_event_ms: Math.round(quantile(latencies, 0.95)),
      upload_seconds: Math.round(uploadSeconds),
      duration_s: Math.round((Date.now() - started) / 1000),
      load_avg_1m: Number((loadavg()[0] ?? 0).toFixed(2)),
      checks_failed: checks.filter((c) => !c.ok).map((c) => c.name),
    };
    return { figures, checks };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    }
  }
};
