import { CfnOutput, Duration, Fn, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { analyticsDatabase, FILE_KINDS, type FileKind } from '../shared/domain/kinds.ts';
import type { KindClock, PipelineTiming } from '../shared/domain/lifecycle.ts';
import { Api } from './constructs/api.ts';
import type { FunctionDefaults } from './constructs/base-function.ts';
import { ConsoleHosting } from './constructs/console-hosting.ts';
import { FileEvents } from './constructs/events.ts';
import { Housekeeping } from './constructs/housekeeping.ts';
import { Ingest } from './constructs/ingest.ts';
import { Metadata } from './constructs/metadata.ts';
import { Observability } from './constructs/observability.ts';
import { Processing } from './constructs/processing.ts';
import { Realtime } from './constructs/realtime.ts';
import { Storage } from './constructs/storage.ts';
import { VideoWorkflow } from './constructs/video-workflow.ts';
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

/** One SyncFlow deployment: the whole pipeline of docs/architecture.md for one stage. */
export class SyncFlowStack extends Stack {
  readonly storage: Storage;
  readonly ingest: Ingest;
  readonly events: FileEvents;
  readonly metadata: Metadata;
  readonly processing: Processing;
  /** Videos and audio files: probe, transcode, poster, record, publish (docs/video.md). */
  readonly video: VideoWorkflow;
  readonly api: Api;
  readonly realtime: Realtime;
  readonly housekeeping: Housekeeping;
  readonly observability: Observability;
  /** The stage's Glue database: one table per dataset and per owner's log format. */
  readonly analyticsDatabase: string;
  /** The web console's bucket and CloudFront distribution, on stages that host it. */
  readonly console?: ConsoleHosting;

  /**
   * The first two zones of the region, resolved by CloudFormation (`Fn::GetAZs`) even when the
   * account and region are known at synth: CDK would otherwise look them up in the account
   * (and cache them in cdk.context.json), and `cdk synth` makes no account look-ups.
   */
  override get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }

  constructor(scope: Construct, id: string, props: SyncFlowStackProps) {
    super(scope, id, props);
    const { stage: configured } = props;
    if (configured.faultInjection && !configured.emulatorEndpoint) {
      throw new Error(
        `Stage ${configured.name} turns fault injection on, which only a stage deployed into an emulator may`,
      );
    }
    // Storage first: the console's CloudFront logs go to its access-log bucket.
    const storageOrigins = configured.corsOrigins;
    const logRetention = retentionFor(configured.logRetentionDays);
    const functions: FunctionDefaults = {
      architecture: configured.architecture,
      logRetention,
      retainLogs: configured.retainData,
      // The Data API double's stages run the AWS driver: bundled as for Aurora.
      database: configured.database.kind === 'postgres' ? 'postgres' : 'aurora',
      sourceMaps: configured.sourceMaps,
    };
    Tags.of(this).add('project', 'syncflow');
    Tags.of(this).add('stage', configured.name);

    this.storage = new Storage(this, 'Storage', {
      corsOrigins: storageOrigins,
      retainData: configured.retainData,
      autoDeleteObjects: configured.autoDeleteObjects,
      abortIncompleteMultipartDays: configured.abortIncompleteMultipartDays,
      logArchive: configured.logArchive,
    });
    if (configured.consoleHosting) {
      this.console = new ConsoleHosting(this, 'Console', {
        retainData: configured.retainData,
        logBucket: this.storage.accessLogs,
        copyAssets: configured.consoleAssets,
      });
      this.storage.allowBrowserOrigin(this.console.origin);
    }
    // The console's own origin comes first: API Gateway's own errors name the first origin.
    const stage: StageConfig = this.console
      ? { ...configured, corsOrigins: [this.console.origin, ...configured.corsOrigins] }
      : configured;
    const timeouts = Object.fromEntries(
      FILE_KINDS.map((kind) => [kind, Duration.seconds(stage.processing[kind].timeoutSeconds)]),
    ) as Record<FileKind, Duration>;
    this.ingest = new Ingest(this, 'Ingest', {
      bucket: this.storage.bucket,
      timeouts,
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
      vpcFlowLogs: stage.vpcFlowLogs,
      databaseLogExports: stage.databaseLogExports,
    });
    this.analyticsDatabase = analyticsDatabase(stage.name);
    // Its alarms go to the alarm topic through Observability, which is made last.
    this.video = new VideoWorkflow(this, 'Video', {
      bucket: this.storage.bucket,
      bus: this.events.bus,
      database: this.metadata,
      functions,
      transcoder: stage.video.transcoder,
      limits: stage.video.limits,
      transcodeTimeout: Duration.minutes(stage.video.transcodeTimeoutMinutes),
      jobTemplate: stage.video.mediaConvertJobTemplate,
      logRetention,
      retainLogs: stage.retainData,
    });
    this.processing = new Processing(this, 'Processing', {
      bucket: this.storage.bucket,
      routes: this.ingest.routes,
      bus: this.events.bus,
      metadata: this.metadata,
      functions,
      retainData: stage.retainData,
      kinds: stage.processing,
      maxReceiveCount: stage.maxReceiveCount,
      analyticsDatabase: this.analyticsDatabase,
      video: this.video,
      faultInjection: stage.faultInjection,
    });
    // Each kind's clock; the stage-wide fields are the slowest kind's, for anything unlisted.
    const clocks = Object.fromEntries(
      FILE_KINDS.map((kind): [FileKind, KindClock] => [
        kind,
        {
          processorTimeoutSeconds: timeouts[kind].toSeconds(),
          visibilityTimeoutSeconds: this.ingest.routes[kind].visibilityTimeout.toSeconds(),
        },
      ]),
    ) as Record<FileKind, KindClock>;
    const slowest = Object.values(clocks).reduce((a, b) =>
      b.visibilityTimeoutSeconds > a.visibilityTimeoutSeconds ? b : a,
    );
    const timing: PipelineTiming = {
      ...slowest,
      maxReceiveCount: stage.maxReceiveCount,
      queueRetentionSeconds: this.ingest.retentionPeriod.toSeconds(),
      graceSeconds: stage.sweepGraceSeconds,
      kinds: clocks,
    };
    this.api = new Api(this, 'Api', {
      stage,
      bucket: this.storage.bucket,
      bus: this.events.bus,
      metadata: this.metadata,
      logRetention,
      functions,
      timing,
      videoStateMachine: this.video.stateMachine,
    });
    this.housekeeping = new Housekeeping(this, 'Housekeeping', {
      bucket: this.storage.bucket,
      bus: this.events.bus,
      metadata: this.metadata,
      functions,
      timing,
      everyMinutes: stage.sweepEveryMinutes,
    });

    this.realtime = new Realtime(this, 'Realtime', {
      stage,
      bus: this.events.bus,
      userPool: this.api.userPool,
      userPoolClient: this.api.userPoolClient,
      logRetention,
      functions,
      idempotencyTable: this.processing.idempotencyTable,
      apiGatewayAccount: this.api.cloudWatchAccount,
      // Emails link to the console: CloudFront's where the stack hosts it, else the first CORS
      // origin (the console `npm start` serves).
      consoleUrl: this.console
        ? `${this.console.origin}/`
        : stage.corsOrigins.find((origin) => origin !== '*')?.replace(/\/?$/, '/'),
    });

    this.console?.configure({
      stage: stage.name,
      restUrl: this.api.restApi.url,
      websocketUrl: this.realtime.webSocketStage.url,
      userPoolClientId: this.api.userPoolClient.userPoolClientId,
      userPoolId: this.api.userPool.userPoolId,
      restOrigin: `https://${this.api.restApi.restApiId}.execute-api.${this.region}.${this.urlSuffix}`,
      websocketOrigin: `wss://${this.realtime.webSocketApi.apiId}.execute-api.${this.region}.${this.urlSuffix}`,
    });

    this.observability = new Observability(this, 'Observability', {
      stage,
      ingestQueues: Object.fromEntries(FILE_KINDS.map((k) => [k, this.ingest.routes[k].queue])),
      deadLetterQueues: {
        // The image kind's DLQ keeps the name of the single ingest DLQ it was.
        Ingest: this.ingest.routes.image.deadLetterQueue,
        TabularIngest: this.ingest.routes.tabular.deadLetterQueue,
        LogsIngest: this.ingest.routes.logs.deadLetterQueue,
        OtherIngest: this.ingest.routes.other.deadLetterQueue,
        VideoIngest: this.ingest.routes.video.deadLetterQueue,
        Notifications: this.realtime.deadLetterQueue,
        ...(this.realtime.mailDeadLetterQueue && { Mail: this.realtime.mailDeadLetterQueue }),
      },
      functions: {
        ...Object.fromEntries(
          FILE_KINDS.map((k) => [`process-${k}`, this.processing.processors[k]]),
        ),
        'upload-api': this.api.uploadApi,
        'files-api': this.api.filesApi,
        'workflow-api': this.api.workflowApi,
        'file-actions': this.api.fileActions,
        'multipart-api': this.api.multipartApi,
        authorizer: this.api.authorizerFunction,
        'ws-authorizer': this.realtime.connectAuthorizer,
        'ws-connections': this.realtime.connectionsHandler,
        notifier: this.realtime.notifier,
        sweeper: this.housekeeping.sweeper,
        ...(this.realtime.mailer && { mailer: this.realtime.mailer }),
        migrate: this.metadata.migrator,
        'video-probe': this.video.probeFunction,
        ...(this.video.transcodeFunction && {
          'video-transcode-local': this.video.transcodeFunction,
        }),
        ...(this.video.stageSourceFunction && {
          'video-stage-source': this.video.stageSourceFunction,
        }),
        'video-poster': this.video.posterFunction,
        'video-record': this.video.recordFunction,
        'video-publish': this.video.publishFunction,
        'video-fail': this.video.failFunction,
        'video-progress': this.video.progressFunction,
      },
      processors: this.processing.processors,
      sweeper: this.housekeeping.sweeper,
      restApi: this.api.restApi,
      webSocketApi: this.realtime.webSocketApi,
      webSocketStage: this.realtime.webSocketStage,
      ...(this.metadata.cluster && { cluster: this.metadata.cluster }),
      videoWorkflow: this.video,
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
      // The image kind's keep the names of the single queue and processor before kinds.
      IngestQueueUrl: this.ingest.routes.image.queue.queueUrl,
      DeadLetterQueueUrl: this.ingest.routes.image.deadLetterQueue.queueUrl,
      ProcessorFunctionName: this.processing.processors.image.functionName,
      TabularQueueUrl: this.ingest.routes.tabular.queue.queueUrl,
      TabularDeadLetterQueueUrl: this.ingest.routes.tabular.deadLetterQueue.queueUrl,
      TabularProcessorFunctionName: this.processing.processors.tabular.functionName,
      LogsQueueUrl: this.ingest.routes.logs.queue.queueUrl,
      LogsDeadLetterQueueUrl: this.ingest.routes.logs.deadLetterQueue.queueUrl,
      LogsProcessorFunctionName: this.processing.processors.logs.functionName,
      OtherQueueUrl: this.ingest.routes.other.queue.queueUrl,
      OtherDeadLetterQueueUrl: this.ingest.routes.other.deadLetterQueue.queueUrl,
      OtherProcessorFunctionName: this.processing.processors.other.functionName,
      VideoQueueUrl: this.ingest.routes.video.queue.queueUrl,
      VideoDeadLetterQueueUrl: this.ingest.routes.video.deadLetterQueue.queueUrl,
      VideoProcessorFunctionName: this.processing.processors.video.functionName,
      VideoStateMachineArn: this.video.stateMachine.stateMachineArn,
      AnalyticsDatabase: this.analyticsDatabase,
      IdempotencyTableName: this.processing.idempotencyTable.tableName,
      SweeperFunctionName: this.housekeeping.sweeper.functionName,
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
          'X-Ray has no resource ARNs, nor MediaConvert\'s jobs or Step Functions\' log delivery (the video state machine): their statements are on "*" (test/infra checks that no other action is).',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "CDK's S3 grant helpers name action families (GetObject*, DeleteObject*, …), always on one prefix of our bucket.",
        appliesTo: [
          'Action::s3:GetObject*',
          'Action::s3:GetBucket*',
          'Action::s3:List*',
          'Action::s3:Abort*',
          'Action::s3:DeleteObject*',
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Objects under one prefix of our bucket (uploads/ or derived/): keys are per file, so a grant is per prefix.',
        appliesTo: [
          {
            regex:
              '/^Resource::<StorageUploads[0-9A-F]+\\.Arn>\\/(uploads|derived|analytics)\\/([a-z]+\\/)?\\*$/',
          },
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "The converters create and evolve their kind's tables (ds_* datasets, logs_* log formats) in the stage's own Glue database, as files arrive: table names are per owner and dataset.",
        appliesTo: [
          {
            regex:
              '/^Resource::arn:(<AWS::Partition>|[a-z-]+):glue:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|[0-9]+):table\\/syncflow_[a-z0-9_]+\\/(ds|logs)_\\*$/',
          },
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: "The connections table's indexes: connections are found by owner through one.",
        appliesTo: [{ regex: '/^Resource::<RealtimeConnections[0-9A-F]+\\.Arn>\\/index\\/\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: "The WebSocket stage's @connections: a connection id is only known at run time.",
        appliesTo: [
          {
            regex:
              '/^Resource::arn:(<AWS::Partition>|[a-z-]+):execute-api:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|[0-9]+):<RealtimeWebSocketApi[0-9A-F]+>\\/[a-z0-9-]+\\/\\*\\/@connections\\/\\*$/',
          },
        ],
      },
    ]);
  }
}
