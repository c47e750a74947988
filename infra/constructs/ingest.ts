import { Duration } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../shared/domain/contracts.ts';
import { UPLOAD_PREFIX } from '../../shared/domain/keys.ts';
import { REPROCESS_REQUESTED } from '../../shared/domain/reprocess.ts';

export interface IngestProps {
  readonly bucket: IBucket;
  /** The processor's timeout: the queue's visibility timeout is six times it, as AWS advises. */
  readonly processorTimeout: Duration;
  /** Deliveries before a message is parked in the DLQ. */
  readonly maxReceiveCount: number;
}

/**
 * S3 "Object Created" under `uploads/` only → EventBridge rule → encrypted SQS queue with a DLQ.
 * The prefix filter is what keeps derivatives (under `derived/`) from re-triggering the processor.
 */
export class Ingest extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly rule: Rule;
  /** When a message not deleted is handed out again. */
  readonly visibilityTimeout: Duration;
  /** How long the queue keeps a message nobody takes. */
  readonly retentionPeriod = Duration.days(4);

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1) {
      throw new Error(`maxReceiveCount must be a positive integer, not ${props.maxReceiveCount}`);
    }
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.visibilityTimeout = Duration.seconds(props.processorTimeout.toSeconds() * 6);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: this.retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    this.rule = new Rule(this, 'ObjectCreated', {
      description: 'New uploads go to the ingest queue',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.bucket.bucketName] },
          object: { key: [{ prefix: UPLOAD_PREFIX }] },
        },
      },
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }

  /**
   * `POST /files/{fileId}/reprocess` publishes a `file.reprocess-requested` event on the custom
   * bus; this rule brings it to the processor's queue like an upload's S3 event.
   */
  routeReprocessRequests(bus: IEventBus): Rule {
    return new Rule(this, 'ReprocessRequested', {
      description: 'Explicit reprocess requests go to the ingest queue',
      eventBus: bus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [REPROCESS_REQUESTED] },
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
