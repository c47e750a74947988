import { Duration } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../shared/domain/contracts.ts';
import { ANALYTICS_PREFIX, DERIVED_PREFIX, kindPrefix } from '../../shared/domain/keys.ts';
import { FILE_KINDS, type FileKind } from '../../shared/domain/kinds.ts';
import { REPROCESS_REQUESTED } from '../../shared/domain/reprocess.ts';

export interface IngestProps {
  readonly bucket: IBucket;
  /**
   * Each kind's function timeout: its queue's visibility timeout is six times it, as AWS
   * advises.
   */
  readonly timeouts: Readonly<Record<FileKind, Duration>>;
  /** Deliveries before a message is parked in its kind's DLQ. */
  readonly maxReceiveCount: number;
}

/** One kind's way in: its queue, its DLQ, and the rule that feeds it uploads of its prefix. */
export interface KindRoute {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly rule: Rule;
  /** When a message not deleted is handed out again. */
  readonly visibilityTimeout: Duration;
}

const capitalised = (kind: FileKind): string => kind[0]?.toUpperCase() + kind.slice(1);

/**
 * S3 "Object Created" under `uploads/<kind>/` → one EventBridge rule per kind → that kind's
 * encrypted SQS queue with its own DLQ, so a burst of one kind never waits in front of another.
 * The prefix filters are what keep derivatives (under `derived/`) and analytics output from
 * re-triggering a function. The image route keeps the construct ids of the single queue it
 * replaces, so an upgrade keeps the messages queued in it.
 */
export class Ingest extends Construct {
  readonly routes: Readonly<Record<FileKind, KindRoute>>;
  /**
   * Uploads whose key was made before kinds existed (an upload URL handed out before the
   * upgrade): the `other` queue takes them, and the handler routes by the record's kind.
   */
  readonly legacyRule: Rule;
  /** How long the queues keep a message nobody takes. */
  readonly retentionPeriod = Duration.days(4);

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1) {
      throw new Error(`maxReceiveCount must be a positive integer, not ${props.maxReceiveCount}`);
    }
    const routes = {} as Record<FileKind, KindRoute>;
    for (const kind of FILE_KINDS) {
      // The image route keeps the ids of the queue it was before kinds.
      const name = kind === 'image' ? '' : capitalised(kind);
      const deadLetterQueue = new Queue(this, `${name}DeadLetterQueue`, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const visibilityTimeout = Duration.seconds(props.timeouts[kind].toSeconds() * 6);
      const queue = new Queue(this, `${name}Queue`, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout,
        retentionPeriod: this.retentionPeriod,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      });
      const rule = new Rule(this, `${name}ObjectCreated`, {
        description: `New ${kind} uploads go to the ${kind} queue`,
        eventPattern: {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: {
            bucket: { name: [props.bucket.bucketName] },
            object: { key: [{ prefix: kindPrefix(kind) }] },
          },
        },
        targets: [this.target(queue, deadLetterQueue)],
      });
      routes[kind] = { queue, deadLetterQueue, rule, visibilityTimeout };
    }
    this.routes = routes;
    this.legacyRule = new Rule(this, 'LegacyObjectCreated', {
      description: 'Uploads under a key made before kinds go to the other queue',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.bucket.bucketName] },
          // Everything but the kinds' prefixes and what the pipeline writes; only upload keys
          // of the old layout are left (any other key is skipped by the handler).
          object: {
            key: [
              {
                'anything-but': {
                  prefix: [...FILE_KINDS.map(kindPrefix), DERIVED_PREFIX, ANALYTICS_PREFIX],
                },
              },
            ],
          },
        },
      },
      targets: [this.target(routes.other.queue, routes.other.deadLetterQueue)],
    });
  }

  private target(queue: Queue, deadLetterQueue: Queue): SqsQueue {
    return new SqsQueue(queue, {
      deadLetterQueue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });
  }

  /**
   * `POST /files/{fileId}/reprocess` publishes a `file.reprocess-requested` event on the custom
   * bus naming the file's kind; one rule per kind brings it to that kind's queue like an
   * upload's S3 event.
   */
  routeReprocessRequests(bus: IEventBus): Rule[] {
    return FILE_KINDS.map(
      (kind) =>
        new Rule(this, kind === 'image' ? 'ReprocessRequested' : `${capitalised(kind)}Reprocess`, {
          description: `Explicit reprocess requests of ${kind} files go to the ${kind} queue`,
          eventBus: bus,
          eventPattern: {
            source: [EVENT_SOURCE],
            detailType: [REPROCESS_REQUESTED],
            detail: { kind: [kind] },
          },
          targets: [this.target(this.routes[kind].queue, this.routes[kind].deadLetterQueue)],
        }),
    );
  }
}
