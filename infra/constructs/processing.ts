import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  ANALYTICS_PREFIX,
  DERIVED_PREFIX,
  kindPrefix,
  UPLOAD_PREFIX,
} from '../../shared/domain/keys.ts';
import { FILE_KINDS, type FileKind } from '../../shared/domain/kinds.ts';
import { FAULT_INJECTION_ENV } from '../../shared/processing/faults.ts';
import type { KindSettings } from '../stages.ts';
import { type FunctionDefaults, type NativeModule, SyncFlowFunction } from './base-function.ts';
import type { KindRoute } from './ingest.ts';
import type { Metadata } from './metadata.ts';

/**
 * What differs between kinds' functions, besides the stage's settings: the handler, the native
 * modules it ships (and no other), its worker entries, and whether it writes Parquet for Athena.
 * Adding a kind is one entry here (and its handler and pipeline folder).
 */
interface KindFunction {
  readonly entry: string;
  readonly nativeModules: readonly NativeModule[];
  readonly workers: readonly string[];
  /** Writes under `analytics/` and keeps the stage's Glue tables. */
  readonly analytics: boolean;
}

const KIND_FUNCTIONS: Readonly<Record<FileKind, KindFunction>> = {
  image: { entry: 'process-image', nativeModules: ['sharp'], workers: [], analytics: false },
  tabular: {
    entry: 'process-tabular',
    nativeModules: ['@duckdb/node-api'],
    workers: ['shared/processing/tabular/csv-block-worker.ts'],
    analytics: true,
  },
  logs: {
    entry: 'process-logs',
    nativeModules: ['@duckdb/node-api'],
    workers: ['shared/processing/logs/log-block-worker.ts'],
    analytics: true,
  },
  other: { entry: 'process-other', nativeModules: [], workers: [], analytics: false },
  // Checks the bytes and starts the video workflow, whose own functions do the media work.
  video: { entry: 'process-video', nativeModules: [], workers: [], analytics: false },
};

/** The video kind's way out: the state machine it starts one execution of per file version. */
export interface VideoHandOff {
  readonly stateMachine: IStateMachine;
  /** The state machine's timeout: a video's deadline while its execution runs. */
  readonly executionTimeout: Duration;
}

export interface ProcessingProps {
  readonly bucket: IBucket;
  /** Each kind's queue (infra/constructs/ingest.ts). */
  readonly routes: Readonly<Record<FileKind, KindRoute>>;
  readonly bus: IEventBus;
  readonly metadata: Metadata;
  readonly functions: FunctionDefaults;
  readonly retainData: boolean;
  /** Each kind's memory, timeout, concurrency cap and scratch space. */
  readonly kinds: Readonly<Record<FileKind, KindSettings>>;
  readonly maxReceiveCount: number;
  /** The stage's Glue database, where the tabular and logs kinds keep their tables. */
  readonly analyticsDatabase: string;
  /** The video workflow the video kind's function hands its files to (VideoWorkflow). */
  readonly video: VideoHandOff;
  /**
   * Lets files named `fault-…` crash or slow the functions (shared/processing/faults.ts); only
   * a stage deployed into an emulator may (the stack refuses it elsewhere). @default false
   */
  readonly faultInjection?: boolean;
}

/**
 * One function per kind of file, each fed by its kind's queue with partial batch responses and
 * its own concurrency cap, made idempotent by one shared DynamoDB table (on demand, TTL on
 * `expiration`; keys are per object version, so kinds never meet in it). Each reads its kind's
 * uploads and writes only `derived/` (and the converters `analytics/` and the stage's Glue
 * tables). It may delete under its uploads prefix too: versions nobody may be served (a form
 * sent again, anything under a deleted file's key) are removed by it. It writes to the database
 * as the writing role.
 */
export class Processing extends Construct {
  readonly processors: Readonly<Record<FileKind, SyncFlowFunction>>;
  readonly idempotencyTable: Table;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    for (const kind of FILE_KINDS) {
      const max = props.kinds[kind].maxConcurrency;
      if (max < 2 || max > 1000) {
        throw new Error(`The ${kind} function's maximum concurrency must be 2..1000, not ${max}`);
      }
    }
    this.idempotencyTable = new Table(this, 'Idempotency', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiration',
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.retainData },
      removalPolicy: props.retainData
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    const processors = {} as Record<FileKind, SyncFlowFunction>;
    for (const kind of FILE_KINDS) processors[kind] = this.kindFunction(kind, props);
    this.processors = processors;
  }

  private kindFunction(kind: FileKind, props: ProcessingProps): SyncFlowFunction {
    const settings = props.kinds[kind];
    const shape = KIND_FUNCTIONS[kind];
    const route = props.routes[kind];
    const timeout = Duration.seconds(settings.timeoutSeconds);
    // The image function keeps the id of the single processor it was before kinds.
    const fn = new SyncFlowFunction(this, kind === 'image' ? 'Processor' : `${kind}Processor`, {
      entry: shape.entry,
      serviceName: shape.entry,
      ...props.functions,
      memorySize: settings.memoryMb,
      timeout,
      nativeModules: shape.nativeModules,
      workers: shape.workers,
      ...(settings.ephemeralStorageMb !== undefined && {
        ephemeralStorageSize: Size.mebibytes(settings.ephemeralStorageMb),
      }),
      environment: {
        ...props.metadata.environmentFor('write'),
        EVENT_BUS_NAME: props.bus.eventBusName,
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
        INGEST_QUEUE_URL: route.queue.queueUrl,
        MAX_RECEIVE_COUNT: String(props.maxReceiveCount),
        // A record starts only with a quarter of the timeout left (five seconds at least).
        MIN_TIME_LEFT_SECONDS: String(Math.max(5, Math.floor(settings.timeoutSeconds / 4))),
        ...(shape.analytics && { ANALYTICS_DATABASE: props.analyticsDatabase }),
        ...(settings.maxDecompressedBytes !== undefined && {
          MAX_DECOMPRESSED_BYTES: String(settings.maxDecompressedBytes),
        }),
        ...(settings.duckdbMemoryMb !== undefined && {
          DUCKDB_MEMORY_MB: String(settings.duckdbMemoryMb),
        }),
        ...(props.faultInjection && { [FAULT_INJECTION_ENV]: 'on' }),
        ...(kind === 'video' && {
          STATE_MACHINE_ARN: props.video.stateMachine.stateMachineArn,
          VIDEO_WORKFLOW_TIMEOUT_SECONDS: String(props.video.executionTimeout.toSeconds()),
        }),
      },
    });
    if (kind === 'video') props.video.stateMachine.grantStartExecution(fn);
    fn.addEventSource(
      new SqsEventSource(route.queue, {
        // One file an invocation, for every kind. A converter's batch of large files would
        // outlast the timeout; and a file that kills its process (out of memory) sends its whole
        // batch back, so its batch-mates used up their deliveries beside it and were parked in
        // the DLQ (found by the soak). Records ran one after another anyway: a batch saved only
        // Lambda's per-request price, which the cost model already counts per file.
        batchSize: 1,
        // No batching window: a file alone in the queue is taken at once, not after a wait
        // for others to fill a batch.
        reportBatchItemFailures: true,
        maxConcurrency: settings.maxConcurrency,
      }),
    );
    // Its own kind's uploads, and the keys made before kinds (which the other kind's queue
    // takes, and which any kind's queue may still hold from before an upgrade).
    const uploads = kind === 'image' || kind === 'other' ? UPLOAD_PREFIX : kindPrefix(kind);
    props.bucket.grantRead(fn, `${uploads}*`);
    props.bucket.grantPut(fn, `${DERIVED_PREFIX}*`);
    // Every version of what nobody may be served: stray versions of an original, anything
    // under a deleted file's key, derivatives written for a file deleted meanwhile.
    for (const prefix of [uploads, DERIVED_PREFIX]) props.bucket.grantDelete(fn, `${prefix}*`);
    if (shape.analytics) this.grantAnalytics(fn, kind, props);
    this.idempotencyTable.grantReadWriteData(fn);
    props.bus.grantPutEventsTo(fn);
    props.metadata.grantDataAccess(fn, 'write');
    return fn;
  }

  /** The kind's folder under `analytics/`, and the stage's Glue database and its tables. */
  private grantAnalytics(fn: SyncFlowFunction, kind: FileKind, props: ProcessingProps): void {
    const folder = `${ANALYTICS_PREFIX}${kind === 'tabular' ? 'datasets' : 'logs'}/`;
    props.bucket.grantPut(fn, `${folder}*`);
    props.bucket.grantDelete(fn, `${folder}*`);
    const stack = Stack.of(this);
    const arn = (resource: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName: undefined });
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [
          'glue:GetDatabase',
          'glue:CreateDatabase',
          'glue:GetTable',
          'glue:CreateTable',
          'glue:UpdateTable',
        ],
        resources: [
          arn('catalog'),
          stack.formatArn({
            service: 'glue',
            resource: 'database',
            resourceName: props.analyticsDatabase,
          }),
          stack.formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${props.analyticsDatabase}/${kind === 'tabular' ? 'ds_' : 'logs_'}*`,
          }),
        ],
      }),
    );
  }
}
