import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { JSONValue } from '@aws-lambda-powertools/commons/types';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDbClient, eventBridgeClient, s3Client, sqsClient } from '../adapters/clients.ts';
import { databaseDeadline } from '../adapters/db/deadline.ts';
import { fileRepository } from '../adapters/db/instance.ts';
import { intEnv, requireEnv } from '../adapters/env.ts';
import { FileEventPublisher } from '../adapters/event-publisher.ts';
import { ObjectStore } from '../adapters/object-store.ts';
import { parseUploadKey } from '../domain/keys.ts';
import type { FileKind } from '../domain/kinds.ts';
import { logger, MetricName, metrics, tracer } from '../observability/powertools.ts';
import { faultInjectionEnabled, injectFault } from './faults.ts';
import { type IngestWork, parseIngestMessage } from './ingest-message.ts';
import type { KindPipeline } from './kind-pipeline.ts';
import { otherPipeline } from './other/other-pipeline.ts';
import {
  failAfterRetries,
  type ProcessDeps,
  processUpload,
  tidyAfterReplay,
} from './process-upload.ts';

/** What makes one kind's function: the rest is the same for every kind. */
export interface KindHandlerOptions {
  readonly kind: FileKind;
  /** Made from the shared object store once the environment is read. */
  readonly pipeline: (store: ObjectStore) => KindPipeline;
  /**
   * How long a claimed file may stay PROCESSING before the sweeper may end it (its `deadline`).
   * By default the function's remaining time; a kind that hands its files to a longer workflow
   * (video) gives that workflow's timeout, or the sweeper would end a file its workflow still
   * works on.
   */
  readonly claimSeconds?: number;
}

/** A record left for lack of time: not a failure of the file's, and not counted as one. */
class NotEnoughTimeError extends Error {
  constructor(remainingMs: number) {
    super(`Only ${remainingMs} ms left before the timeout: the record goes back to the queue`);
    this.name = 'NotEnoughTimeError';
  }
}

/**
 * A kind's pipeline for files of its kind. A file of another kind reaches a kind's queue only
 * through a key made before kinds existed (it was queued before the upgrade, or its upload URL
 * was): it gets the checks every kind makes, as it did then, and its owner may reprocess it,
 * which routes by the record's kind.
 */
const forKind =
  (kind: FileKind, pipeline: KindPipeline): KindPipeline =>
  (work) =>
    work.file.kind === kind ? pipeline(work) : otherPipeline()(work);

/**
 * The queue handler every kind's function is: idempotent per object version (Powertools on
 * DynamoDB), partial batch responses, each delivery's attempt and deadline on the record, a
 * record left for lack of time sent straight back, stray versions tidied after a replay, FAILED
 * after the last retry, metrics and one log line per record with its own error. Only the
 * pipeline differs per kind. Reads the environment and opens the database at once, so a
 * missing setting fails the cold start.
 */
export const kindHandler = async (options: KindHandlerOptions) => {
  const BUS_NAME = requireEnv('EVENT_BUS_NAME');
  const IDEMPOTENCY_TABLE = requireEnv('IDEMPOTENCY_TABLE_NAME');
  const INGEST_QUEUE_URL = requireEnv('INGEST_QUEUE_URL');
  const MAX_RECEIVE_COUNT = intEnv('MAX_RECEIVE_COUNT', 3);
  /**
   * A record is started only with this much time left before the function's timeout; otherwise
   * it goes back to the queue at once (a run cut short by the timeout would cost a delivery).
   */
  const MIN_TIME_LEFT_MS = intEnv('MIN_TIME_LEFT_SECONDS', 30) * 1000;

  logger.appendPersistentKeys({ kind: options.kind });
  const store = new ObjectStore(s3Client());
  const events = new FileEventPublisher(eventBridgeClient(), BUS_NAME);
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: IDEMPOTENCY_TABLE,
    awsSdkV3Client: dynamoDbClient(),
  });
  /**
   * One key per object version: replays of its event find the stored result and stop. A
   * reprocess request's version carries its request id (see ingest-message.ts), so it runs once.
   */
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: '[bucket, key, version]',
    expiresAfterSeconds: intEnv('IDEMPOTENCY_TTL_SECONDS', 7 * 24 * 3600),
  });
  // Records run one after another: each may hold a decoded image or a converter's memory, and
  // memory is what bounds us.
  const batch = new BatchProcessor(EventType.SQS);

  // Opened during init (a failure fails the cold start), so no request waits for the driver.
  const deps: ProcessDeps = {
    repository: await fileRepository(),
    store,
    events,
    pipeline: forKind(options.kind, options.pipeline(store)),
    ...(faultInjectionEnabled() && { beforeRun: injectFault }),
    onAnnounceFailed: (error) =>
      logger.warn('Could not announce file.processing; the file is processed all the same', {
        error,
      }),
  };

  /** The invocation being served: records read its remaining time. */
  let invocation: Context | undefined;

  /**
   * Sends a message whose object another invocation holds back to the queue when that claim ends
   * (the holder's deadline), not after the queue's visibility timeout, six times the function's:
   * by then the holder has written the outcome, which the retry finds, or died, and the retry
   * takes over. A failure here leaves the queue's timeout, as before.
   */
  const returnWhenClaimEnds = async (record: SQSRecord, claimEndsMs: number | undefined) => {
    if (claimEndsMs === undefined) return;
    const seconds = Math.min(43_200, Math.max(1, Math.ceil((claimEndsMs - Date.now()) / 1000) + 1));
    await sqsClient()
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: INGEST_QUEUE_URL,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      )
      .then(() => logger.info('The message returns when the claim ends', { seconds }))
      .catch((error: unknown) =>
        logger.warn('Could not shorten the wait; the queue timeout applies', { error }),
      );
  };

  /**
   * When the claim on an object version that another invocation holds ends (epoch ms): its
   * idempotency record's own expiry, which is that invocation's deadline; now, if the record
   * completed or went meanwhile (the holder was a replay or a skip, done in moments); else the
   * file's deadline; undefined when neither can be read.
   */
  const claimEnd = async (input: IngestWork, fileDeadline: Date | null) => {
    try {
      const held = await persistenceStore.getRecord(input as unknown as JSONValue);
      if (held.getStatus() !== IdempotencyRecordStatus.INPROGRESS) return Date.now();
      return held.inProgressExpiryTimestamp ?? fileDeadline?.getTime();
    } catch (error) {
      if (error instanceof IdempotencyItemNotFoundError) return Date.now();
      logger.warn('Could not read the claim on the object', { error });
      return fileDeadline?.getTime();
    }
  };

  const handleRecord = async (record: SQSRecord): Promise<void> => {
    const attempts = Number(record.attributes.ApproximateReceiveCount ?? '1');
    let input: IngestWork;
    try {
      input = parseIngestMessage(record.body);
    } catch (error) {
      // Logged here with its own cause: the batch's failure list names only the message.
      logger.error('The message is not an upload event or a reprocess request', {
        messageId: record.messageId,
        attempts,
        error,
        ...(attempts >= MAX_RECEIVE_COUNT && { next: 'the message goes to the DLQ' }),
      });
      throw error;
    }
    const remainingMs = invocation?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
    if (remainingMs < MIN_TIME_LEFT_MS && attempts < MAX_RECEIVE_COUNT) {
      // Back at once rather than after the visibility timeout; on its last delivery it runs anyway.
      await sqsClient().send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: INGEST_QUEUE_URL,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      logger.info('Record left for lack of time; it goes back to the queue', {
        messageId: record.messageId,
        remainingMs,
      });
      throw new NotEnoughTimeError(remainingMs);
    }
    const fileId = parseUploadKey(input.key)?.fileId;
    logger.appendKeys({
      fileId,
      messageId: record.messageId,
      ...(input.reprocessId && { reprocessId: input.reprocessId }),
    });
    metrics.addMetadata('fileId', fileId ?? 'unknown');
    const started = Date.now();
    let ran = false;
    const claimMs =
      options.claimSeconds !== undefined
        ? options.claimSeconds * 1000
        : Number.isFinite(remainingMs)
          ? remainingMs
          : 900_000;
    const deadline = new Date(Date.now() + claimMs);
    let cause: unknown;
    /** What the idempotency record keeps of a run: enough to tell a replay what happened. */
    type Stored =
      | { kind: 'skipped'; reason: string }
      | { kind: 'removed'; reason: string; count: number }
      | { kind: 'handed-off'; to: string; started: boolean }
      | { kind: 'done'; status: string; size: number; reason: string | null };
    const processOnce = makeIdempotent(
      async (ref: IngestWork): Promise<Stored> => {
        ran = true;
        const outcome = await processUpload(deps, ref, {
          attempts,
          deadline,
          ...(ref.reprocessId && { reprocessId: ref.reprocessId }),
        });
        if (outcome.kind === 'skipped') return { kind: 'skipped', reason: outcome.reason };
        if (outcome.kind === 'removed') {
          return { kind: 'removed', reason: outcome.reason, count: outcome.count };
        }
        if (outcome.kind === 'handed-off') {
          return { kind: 'handed-off', to: outcome.to, started: outcome.started };
        }
        cause = outcome.cause;
        return {
          kind: outcome.kind,
          status: outcome.file.status,
          size: outcome.file.size,
          reason: outcome.file.reason,
        };
      },
      { persistenceStore, config: idempotencyConfig },
    );
    try {
      const outcome = await processOnce(input);
      if (!ran) {
        metrics.addMetric(MetricName.DuplicateEventsSkipped, MetricUnit.Count, 1);
        logger.info('Duplicate event skipped');
        const tidied = await tidyAfterReplay(deps, input);
        if (tidied?.kind === 'removed' && tidied.count > 0) {
          metrics.addMetric(MetricName.VersionsRemoved, MetricUnit.Count, tidied.count);
          logger.warn('Object versions removed', { reason: tidied.reason, count: tidied.count });
        }
      } else if (outcome.kind === 'skipped') {
        metrics.addMetric(MetricName.UnknownObjectsSkipped, MetricUnit.Count, 1);
        logger.warn('Object skipped', { reason: outcome.reason });
      } else if (outcome.kind === 'removed') {
        metrics.addMetric(MetricName.VersionsRemoved, MetricUnit.Count, outcome.count);
        logger.warn('Object versions removed', { reason: outcome.reason, count: outcome.count });
      } else if (outcome.kind === 'handed-off') {
        // Its end is counted where it is written (the workflow's steps), not here.
        logger.info(
          outcome.started ? 'File handed to its workflow' : 'Its workflow had the file already',
          { to: outcome.to },
        );
      } else {
        const name =
          outcome.status === 'PROCESSED'
            ? MetricName.FilesProcessed
            : outcome.status === 'REJECTED'
              ? MetricName.FilesRejected
              : MetricName.FilesFailed;
        metrics.addMetric(name, MetricUnit.Count, 1);
        metrics.addMetric(MetricName.BytesProcessed, MetricUnit.Bytes, outcome.size);
        metrics.addMetric(
          MetricName.ProcessingDuration,
          MetricUnit.Milliseconds,
          Date.now() - started,
        );
        const createdAt = input.createdAt ? Date.parse(input.createdAt) : Number.NaN;
        if (Number.isFinite(createdAt)) {
          metrics.addMetric(
            MetricName.EndToEndLatency,
            MetricUnit.Milliseconds,
            Math.max(0, Date.now() - createdAt),
          );
        }
        logger.info('File finished', {
          status: outcome.status,
          ...(outcome.reason && { reason: outcome.reason }),
          ...(cause !== undefined && { cause }),
        });
      }
    } catch (error) {
      if (error instanceof IdempotencyAlreadyInProgressError) {
        // Another invocation holds this very object: it will write the outcome, unless it died,
        // which only its deadline tells. The count lets the sweeper end the file after that.
        logger.info('The same object is being processed elsewhere; the message will be retried', {
          attempts,
        });
        const holder = fileId
          ? await deps.repository.noteAttempt(fileId, attempts).catch((noteError: unknown) => {
              logger.warn('Could not record the attempt', { error: noteError });
              return undefined;
            })
          : undefined;
        if (attempts < MAX_RECEIVE_COUNT) {
          await returnWhenClaimEnds(record, await claimEnd(input, holder?.deadline ?? null));
        }
      } else if (attempts >= MAX_RECEIVE_COUNT) {
        logger.error('Giving up on the file; the message goes to the DLQ', { error, attempts });
        await failAfterRetries(deps, input, attempts).catch((failError: unknown) =>
          logger.error('Could not record the failure', { error: failError }),
        );
      } else {
        logger.warn('Processing failed; the message will be retried', { error, attempts });
      }
      throw error;
    } finally {
      logger.removeKeys(['fileId', 'messageId', 'reprocessId']);
    }
  };

  /**
   * The uploads that wait behind the batch's first record, for marking them UPLOADED (the first
   * goes to PROCESSING at once); what cannot be read is left to its record.
   */
  const waitingUploads = (event: SQSEvent): { fileId: string; ownerId: string }[] =>
    event.Records.slice(1).flatMap((record) => {
      try {
        const ids = parseUploadKey(parseIngestMessage(record.body).key);
        return ids ? [ids] : [];
      } catch {
        return [];
      }
    });

  const processIngestBatch = async (
    event: SQSEvent,
    context: Context,
  ): Promise<SQSBatchResponse> => {
    idempotencyConfig.registerLambdaContext(context);
    invocation = context;
    // Records run one after another; the ones waiting say UPLOADED meanwhile. The first record does
    // not wait for this write (a move to PROCESSING is conditional on the status either way), a
    // batch of one makes none, and a failure here only leaves those files PENDING_UPLOAD until
    // their turn.
    const marking = deps.repository.markUploaded(waitingUploads(event)).catch((error: unknown) => {
      logger.warn('Could not mark the batch UPLOADED', { error });
      return 0;
    });
    try {
      return await processPartialResponse(event, handleRecord, batch, {
        context,
        processInParallel: false,
      });
    } finally {
      await marking;
    }
  };

  return middy(processIngestBatch)
    .use(captureLambdaHandler(tracer))
    .use(databaseDeadline())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
};
