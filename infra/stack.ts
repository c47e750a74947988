import { CfnOutput, Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Api } from './constructs/api.ts';
import type { FunctionDefaults } from './constructs/base-function.ts';
import { ConsoleHosting } from './constructs/console-hosting.ts';
import { FileEvents } from './constructs/events.ts';
import { Ingest } from './constructs/ingest.ts';
import { Metadata } from './constructs/metadata.ts';
import { Observability } from './constructs/observability.ts';
import { Processing } from './constructs/processing.ts';
import { Realtime } from './constructs/realtime.ts';
import { Storage } from './constructs/storage.ts';
import type { StageConfig } from './stages.ts';

export interface SyncFlowStackProps extends StackProps {
  readonly stage: StageConfig;
}

const retentionFor = (days: number): RetentionDays => {
  const known = Object.values(RetentionDays).filter(
    (v): v is RetentionDays => typeof v === 'number',
  );
  const match = known.find((v) => v === days);
  if (match === undefined)
    throw new Error(
      `${days} days is not a CloudWatch Logs retention; use one of ${known.join(', ')}`,
    );
  return match;
};

/** One SyncFlow deployment: the whole pipeline of DESIGN.md for one stage. */
export class SyncFlowStack extends Stack {
  readonly storage: Storage;
  readonly ingest: Ingest;
  readonly events: FileEvents;
  readonly metadata: Metadata;
  readonly processing: Processing;
  readonly api: Api;
  readonly realtime: Realtime;
  readonly observability: Observability;
  /** The web console's bucket and CloudFront distribution, on stages that host it. */
  readonly console?: ConsoleHosting;

  constructor(scope: Construct, id: string, props: SyncFlowStackProps) {
    super(scope, id, props);
    const { stage: configured } = props;
    // Storage first: the console's CloudFront logs go to its access-log bucket.
    const storageOrigins = configured.corsOrigins;
    const logRetention = retentionFor(configured.logRetentionDays);
    const functions: FunctionDefaults = {
      architecture: configured.architecture,
      logRetention,
      retainLogs: configured.retainData,
      database: configured.database.kind,
      sourceMaps: configured.sourceMaps,
    };
    Tags.of(this).add('project', 'syncflow');
    Tags.of(this).add('stage', configured.name);

    this.storage = new Storage(this, 'Storage', {
      corsOrigins: storageOrigins,
      retainData: configured.retainData,
      autoDeleteObjects: configured.autoDeleteObjects,
      abortIncompleteMultipartDays: configured.abortIncompleteMultipartDays,
    });
    if (configured.consoleHosting) {
      this.console = new ConsoleHosting(this, 'Console', {
        retainData: configured.retainData,
        logBucket: this.storage.accessLogs,
      });
      this.storage.allowBrowserOrigin(this.console.origin);
    }
    // The console's own origin comes first: API Gateway's own errors name the first origin.
    const stage: StageConfig = this.console
      ? { ...configured, corsOrigins: [this.console.origin, ...configured.corsOrigins] }
      : configured;
    const processorTimeout = Duration.seconds(stage.processorTimeoutSeconds);
    this.ingest = new Ingest(this, 'Ingest', {
      bucket: this.storage.bucket,
      processorTimeout,
      maxReceiveCount: stage.maxReceiveCount,
    });
    this.events = new FileEvents(this, 'Events', {
      retainData: stage.retainData,
      archiveDays: stage.eventArchiveDays,
    });
    this.ingest.routeReprocessRequests(this.events.bus);
    this.metadata = new Metadata(this, 'Metadata', {
      database: stage.database,
      retainData: stage.retainData,
      logRetention,
      functions,
    });
    this.processing = new Processing(this, 'Processing', {
      bucket: this.storage.bucket,
      queue: this.ingest.queue,
      bus: this.events.bus,
      metadata: this.metadata,
      functions,
      retainData: stage.retainData,
      timeout: processorTimeout,
      memorySize: stage.processorMemoryMb,
      maxConcurrency: stage.processorMaxConcurrency,
      maxReceiveCount: stage.maxReceiveCount,
    });
    this.api = new Api(this, 'Api', {
      stage,
      bucket: this.storage.bucket,
      bus: this.events.bus,
      metadata: this.metadata,
      logRetention,
      functions,
    });

    this.realtime = new Realtime(this, 'Realtime', {
      stage,
      bus: this.events.bus,
      userPool: this.api.userPool,
      userPoolClient: this.api.userPoolClient,
      logRetention,
      functions,
    });

    this.console?.configure({
      stage: stage.name,
      restUrl: this.api.restApi.url,
      websocketUrl: this.realtime.webSocketStage.url,
      userPoolClientId: this.api.userPoolClient.userPoolClientId,
      restOrigin: `https://${this.api.restApi.restApiId}.execute-api.${this.region}.${this.urlSuffix}`,
      websocketOrigin: `wss://${this.realtime.webSocketApi.apiId}.execute-api.${this.region}.${this.urlSuffix}`,
    });

    this.observability = new Observability(this, 'Observability', {
      stage,
      ingestQueue: this.ingest.queue,
      deadLetterQueues: {
        Ingest: this.ingest.deadLetterQueue,
        Notifications: this.realtime.deadLetterQueue,
        ...(this.realtime.mailDeadLetterQueue && { Mail: this.realtime.mailDeadLetterQueue }),
      },
      functions: {
        processor: this.processing.processor,
        'upload-api': this.api.uploadApi,
        'files-api': this.api.filesApi,
        'file-actions': this.api.fileActions,
        'multipart-api': this.api.multipartApi,
        authorizer: this.api.authorizerFunction,
        'ws-authorizer': this.realtime.connectAuthorizer,
        'ws-connections': this.realtime.connectionsHandler,
        notifier: this.realtime.notifier,
        ...(this.realtime.mailer && { mailer: this.realtime.mailer }),
        migrate: this.metadata.migrator,
      },
      processor: this.processing.processor,
      restApi: this.api.restApi,
      webSocketApi: this.realtime.webSocketApi,
      webSocketStage: this.realtime.webSocketStage,
      ...(this.metadata.cluster && { cluster: this.metadata.cluster }),
    });

    const outputs: Record<string, string> = {
      Stage: stage.name,
      Region: this.region,
      BucketName: this.storage.bucket.bucketName,
      RestApiUrl: this.api.restApi.url,
      RestApiId: this.api.restApi.restApiId,
      UserPoolId: this.api.userPool.userPoolId,
      UserPoolClientId: this.api.userPoolClient.userPoolClientId,
      EventBusName: this.events.bus.eventBusName,
      IngestQueueUrl: this.ingest.queue.queueUrl,
      DeadLetterQueueUrl: this.ingest.deadLetterQueue.queueUrl,
      IdempotencyTableName: this.processing.idempotencyTable.tableName,
      ProcessorFunctionName: this.processing.processor.functionName,
      WebSocketUrl: this.realtime.webSocketStage.url,
      WebSocketApiId: this.realtime.webSocketApi.apiId,
      ConnectionsTableName: this.realtime.connectionsTable.tableName,
      NotificationsQueueUrl: this.realtime.queue.queueUrl,
      NotificationsDeadLetterQueueUrl: this.realtime.deadLetterQueue.queueUrl,
      AlarmTopicArn: this.observability.topic.topicArn,
      ...(this.console && { ConsoleUrl: `${this.console.origin}/` }),
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });

    NagSuppressions.addStackSuppressions(this, [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          'Lambda functions use the AWS-managed basic execution role for their logs; nothing else is managed.',
        appliesTo: [
          'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Wildcards are scoped: object keys under one prefix of our bucket, X-Ray (which has no resource ARNs), and the grant helpers of CDK for S3/DynamoDB indexes.',
      },
    ]);
  }
}
