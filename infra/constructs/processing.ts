import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DERIVED_PREFIX, UPLOAD_PREFIX } from '../../shared/domain/keys.ts';
import { FAULT_INJECTION_ENV } from '../../shared/processing/faults.ts';
import { type FunctionDefaults, SyncFlowFunction } from './base-function.ts';
import type { Metadata } from './metadata.ts';

export interface ProcessingProps {
  readonly bucket: IBucket;
  readonly queue: IQueue;
  readonly bus: IEventBus;
  readonly metadata: Metadata;
  readonly functions: FunctionDefaults;
  readonly retainData: boolean;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Most concurrent processors: protects the database. Lambda needs at least 2. */
  readonly maxConcurrency: number;
  readonly maxReceiveCount: number;
  /**
   * Lets files named `fault-…` crash or slow the processor (shared/processing/faults.ts); only
   * a stage deployed into an emulator may (the stack refuses it elsewhere). @default false
   */
  readonly faultInjection?: boolean;
}

/**
 * The processor: fed by the ingest queue with partial batch responses, made idempotent by a
 * DynamoDB table (on demand, TTL on `expiration`), reading `uploads/` and writing only
 * `derived/`. It may delete under `uploads/` too: versions nobody may be served (a form sent
 * again, anything under a deleted file's key) are removed by it. It writes to the database as
 * the writing role.
 */
export class Processing extends Construct {
  readonly processor: SyncFlowFunction;
  readonly idempotencyTable: Table;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    if (props.maxConcurrency < 2 || props.maxConcurrency > 1000) {
      throw new Error(
        `The processor's maximum concurrency must be 2..1000, not ${props.maxConcurrency}`,
      );
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
    this.processor = new SyncFlowFunction(this, 'Processor', {
      entry: 'processor',
      serviceName: 'processor',
      ...props.functions,
      memorySize: props.memorySize,
      timeout: props.timeout,
      withSharp: true,
      environment: {
        ...props.metadata.environmentFor('write'),
        EVENT_BUS_NAME: props.bus.eventBusName,
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
        INGEST_QUEUE_URL: props.queue.queueUrl,
        MAX_RECEIVE_COUNT: String(props.maxReceiveCount),
        // A record starts only with a quarter of the timeout left (five seconds at least).
        MIN_TIME_LEFT_SECONDS: String(Math.max(5, Math.floor(props.timeout.toSeconds() / 4))),
        ...(props.faultInjection && { [FAULT_INJECTION_ENV]: 'on' }),
      },
    });
    this.processor.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: 5,
        // No batching window: a file alone in the queue is taken at once, not after a wait
        // for others to fill a batch.
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );
    props.bucket.grantRead(this.processor, `${UPLOAD_PREFIX}*`);
    props.bucket.grantPut(this.processor, `${DERIVED_PREFIX}*`);
    // Every version of what nobody may be served: stray versions of an original, anything
    // under a deleted file's key, derivatives written for a file deleted meanwhile.
    for (const prefix of [UPLOAD_PREFIX, DERIVED_PREFIX]) {
      props.bucket.grantDelete(this.processor, `${prefix}*`);
    }
    this.idempotencyTable.grantReadWriteData(this.processor);
    props.bus.grantPutEventsTo(this.processor);
    props.metadata.grantDataAccess(this.processor, 'write');
  }
}
