import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { EventBus, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnJobTemplate } from 'aws-cdk-lib/aws-mediaconvert';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  type IChainable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  type TaskStateBase,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, MediaConvertCreateJob } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import type { DbAccess } from '../../shared/domain/db-roles.ts';
import { DERIVED_PREFIX, UPLOAD_PREFIX } from '../../shared/domain/keys.ts';
import { mediaConvertTemplateSettings } from '../../shared/domain/mediaconvert-settings.ts';
import type { VideoLimits } from '../../shared/domain/video.ts';
import {
  LOCAL_PROGRESS_DETAIL_TYPE,
  LOCAL_PROGRESS_SOURCE,
  MEDIACONVERT_DETAIL_TYPE,
  MEDIACONVERT_SOURCE,
} from '../../shared/domain/video-workflow.ts';
import { MEDIAINFO_WASM_ASSET } from '../bundling.ts';
import { type FunctionDefaults, type NativeModule, SyncFlowFunction } from './base-function.ts';

/** The database as the workflow's functions need it (the Metadata construct has it). */
export interface DatabaseAccess {
  environmentFor(access: DbAccess): Record<string, string>;
  grantDataAccess(grantee: IGrantable, access: DbAccess): void;
}

/** How long each task may run before Step Functions gives up on it. */
export interface VideoTaskTimeouts {
  readonly probe: Duration;
  readonly transcode: Duration;
  readonly poster: Duration;
  readonly record: Duration;
}

/** The Lambda functions of the workflow's tasks. */
export interface VideoTaskFunctions {
  readonly probe: IFunction;
  readonly poster: IFunction;
  readonly record: IFunction;
  readonly publish: IFunction;
  readonly fail: IFunction;
}

/** Which transcoder the transcode task runs. */
export type VideoTranscoder =
  | { readonly kind: 'local'; readonly function: IFunction }
  | {
      readonly kind: 'mediaconvert';
      /**
       * Copies the checked version of the original where the job reads it: MediaConvert's
       * input cannot name a version (shared/processing/video/stage-source.ts).
       */
      readonly stageFunction: IFunction;
      /** The role MediaConvert assumes: a fixed ARN, so the state machine may pass only it. */
      readonly roleArn: string;
      /**
       * The stack's job template, which the job names; none where the stack registers none
       * (the job's settings are complete without it).
       */
      readonly jobTemplateName?: string;
      /** Tags the job's status updates, so the progress rule takes only this stack's jobs. */
      readonly application: string;
    };

export interface VideoDefinitionProps {
  readonly functions: VideoTaskFunctions;
  readonly transcoder: VideoTranscoder;
  readonly timeouts: VideoTaskTimeouts;
}

/**
 * The stage task's timeout: its function's, the most one may run (a copy of tens of GiB is
 * S3's own work, parts side by side, but not instant).
 */
const STAGE_SOURCE_TIMEOUT = Duration.minutes(15);

/** Lambda's own transient errors and throttling, on top of LambdaInvoke's default retries. */
const addLambdaRetries = (task: LambdaInvoke): LambdaInvoke => {
  task.addRetry({
    errors: ['Lambda.ClientExecutionTimeoutException', 'Lambda.TooManyRequestsException'],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    jitterStrategy: JitterType.FULL,
  });
  return task;
};

/**
 * The video workflow's states: probe → (video) transcode → poster → record → publish, or
 * (audio, rejected, damaged) probe → record → publish. Every task has a timeout and catches
 * every error into one failure path, which ends the file FAILED with a readable reason and
 * then fails the execution. Exported apart from the construct so tests render the very same
 * definition against functions of their own.
 */
export const videoWorkflowDefinition = (
  parent: Construct,
  props: VideoDefinitionProps,
): IChainable => {
  // States get construct ids of their own (their ASL names): apart from the functions'.
  const scope = new Construct(parent, 'States');
  const { functions, timeouts } = props;
  const failed = new Fail(scope, 'Failed', {
    error: 'VideoWorkflowFailed',
    cause: 'A step failed; the file was recorded FAILED with the reason.',
  });
  const recordFailure = addLambdaRetries(
    new LambdaInvoke(scope, 'RecordFailure', {
      lambdaFunction: functions.fail,
      payloadResponseOnly: true,
      resultPath: JsonPath.DISCARD,
      taskTimeout: Timeout.duration(timeouts.record),
    }),
  ).next(failed);
  const catchInto = <T extends TaskStateBase>(task: T): T => {
    task.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    return task;
  };
  const lambdaTask = (
    id: string,
    lambdaFunction: IFunction,
    resultPath: string,
    timeout: Duration,
  ): LambdaInvoke =>
    catchInto(
      addLambdaRetries(
        new LambdaInvoke(scope, id, {
          lambdaFunction,
          payloadResponseOnly: true,
          resultPath,
          taskTimeout: Timeout.duration(timeout),
        }),
      ),
    );

  const probe = lambdaTask('Probe', functions.probe, '$.probe', timeouts.probe);
  const transcode =
    props.transcoder.kind === 'local'
      ? lambdaTask('Transcode', props.transcoder.function, '$.transcode', timeouts.transcode)
      : catchInto(
          new MediaConvertCreateJob(scope, 'Transcode', {
            integrationPattern: IntegrationPattern.RUN_JOB,
            createJobRequest: {
              Role: props.transcoder.roleArn,
              ...(props.transcoder.jobTemplateName && {
                JobTemplate: props.transcoder.jobTemplateName,
              }),
              Settings: JsonPath.objectAt('$.probe.jobSettings'),
              StatusUpdateInterval: 'SECONDS_10',
              UserMetadata: {
                application: props.transcoder.application,
                fileId: JsonPath.stringAt('$.job.fileId'),
                objectVersion: JsonPath.stringAt('$.job.objectVersion'),
              },
            },
            resultSelector: { 'jobId.$': '$.Job.Id' },
            resultPath: '$.transcode',
            taskTimeout: Timeout.duration(timeouts.transcode),
          }).addRetry({
            // CreateJob's throttling and MediaConvert's own transient failures; a failed job
            // (bad media) is not retried: it goes to the failure path with MediaConvert's reason.
            errors: [
              'MediaConvert.TooManyRequestsException',
              'MediaConvert.InternalServerErrorException',
            ],
            interval: Duration.seconds(5),
            maxAttempts: 4,
            backoffRate: 2,
            jitterStrategy: JitterType.FULL,
          }),
        );
  // MediaConvert reads an `s3://` URL, never a version: the checked version is copied first.
  const firstTranscodeStep =
    props.transcoder.kind === 'mediaconvert'
      ? lambdaTask(
          'StageSource',
          props.transcoder.stageFunction,
          JsonPath.DISCARD,
          STAGE_SOURCE_TIMEOUT,
        ).next(transcode)
      : transcode;
  const poster = lambdaTask('Poster', functions.poster, '$.poster', timeouts.poster);
  const record = lambdaTask('Record', functions.record, '$.record', timeouts.record);
  const publish = lambdaTask('Publish', functions.publish, JsonPath.DISCARD, timeouts.record);
  const done = new Succeed(scope, 'Done');

  record.next(publish).next(done);
  transcode.next(poster).next(record);
  const route = new Choice(scope, 'IsVideo', {
    comment: 'Only a video is transcoded; audio, rejected and damaged files go to the record.',
  })
    .when(Condition.stringEquals('$.probe.outcome', 'VIDEO'), firstTranscodeStep)
    .otherwise(record);
  return probe.next(route);
};

export interface VideoWorkflowProps {
  readonly bucket: IBucket;
  /** The custom bus `file.*` and `file.progress` events go to. */
  readonly bus: IEventBus;
  readonly database: DatabaseAccess;
  readonly functions: FunctionDefaults;
  /** `local` (ffmpeg in a function, the emulator) or `mediaconvert` (AWS). */
  readonly transcoder: 'mediaconvert' | 'local';
  /** Longest duration and largest frame a stage accepts; over them a file is REJECTED. */
  readonly limits: VideoLimits;
  /** The transcode task's timeout. A local transcode runs in one function: 15 minutes at most. */
  readonly transcodeTimeout: Duration;
  /**
   * Registers the MediaConvert job template (with `mediaconvert`). The probe computes every job's
   * complete settings, so the template is a named, inspectable copy of them for operators; an
   * emulator whose CloudFormation has no `AWS::MediaConvert::JobTemplate` goes without.
   * @default true
   */
  readonly jobTemplate?: boolean;
  readonly logRetention: RetentionDays;
  readonly retainLogs: boolean;
  /** Where the workflow's alarms go. @default no action */
  readonly alarmTopic?: ITopic;
}

/**
 * The video workflow (issue 15): a Standard state machine (`.sync` needs one) whose executions
 * are named per file version by whoever starts them, its task functions, MediaConvert's role and
 * job template in AWS, the rules that turn transcoder status updates into `file.progress`, its
 * log group under `/aws/vendedlogs/states/`, and alarms on failed, timed-out and throttled
 * executions.
 */
export class VideoWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly probeFunction: SyncFlowFunction;
  readonly posterFunction: SyncFlowFunction;
  readonly recordFunction: SyncFlowFunction;
  readonly publishFunction: SyncFlowFunction;
  readonly failFunction: SyncFlowFunction;
  readonly progressFunction: SyncFlowFunction;
  /** The local transcode function; undefined with MediaConvert. */
  readonly transcodeFunction?: SyncFlowFunction;
  /** Copies the checked version for MediaConvert; undefined on the local stage. */
  readonly stageSourceFunction?: SyncFlowFunction;
  /** MediaConvert's role and job template; undefined on the local stage. */
  readonly mediaConvertRole?: Role;
  readonly jobTemplate?: CfnJobTemplate;
  readonly logGroup: LogGroup;
  readonly alarms: Record<string, Alarm> = {};
  /**
   * The state machine's timeout: no execution runs longer. A file handed to it may stay
   * PROCESSING this long (its deadline), and no longer.
   */
  readonly executionTimeout: Duration;

  constructor(scope: Construct, id: string, props: VideoWorkflowProps) {
    super(scope, id);
    if (props.transcoder === 'local' && props.transcodeTimeout.toSeconds() > 900) {
      throw new Error(
        `A local transcode runs in one Lambda function (15 minutes at most), not ${props.transcodeTimeout.toMinutes()} minutes`,
      );
    }
    const { bucket, bus, database } = props;
    const fn = (
      fnId: string,
      entry: string,
      options: {
        memorySize?: number;
        timeout?: Duration;
        nativeModules?: readonly NativeModule[];
        assets?: readonly string[];
        environment?: Record<string, string>;
      } = {},
    ) =>
      new SyncFlowFunction(this, fnId, {
        ...props.functions,
        entry,
        serviceName: entry,
        ...options,
      });
    const writesDatabase = (f: SyncFlowFunction) => database.grantDataAccess(f, 'write');
    const dbEnvironment = database.environmentFor('write');

    this.probeFunction = fn('Probe', 'video-probe', {
      timeout: Duration.minutes(2),
      assets: [MEDIAINFO_WASM_ASSET],
      environment: {
        VIDEO_MAX_DURATION_SECONDS: String(props.limits.maxDurationSeconds),
        VIDEO_MAX_FRAME_SIDE: String(props.limits.maxFrameSide),
        VIDEO_MAX_FRAME_PIXELS: String(props.limits.maxFramePixels),
      },
    });
    bucket.grantRead(this.probeFunction, `${UPLOAD_PREFIX}*`);

    this.posterFunction = fn('Poster', 'video-poster', {
      memorySize: 1024,
      timeout: Duration.minutes(2),
      nativeModules: ['sharp'],
    });
    bucket.grantReadWrite(this.posterFunction, `${DERIVED_PREFIX}*`);
    bucket.grantDelete(this.posterFunction, `${DERIVED_PREFIX}*`);

    const busEnvironment = { EVENT_BUS_NAME: bus.eventBusName };
    this.recordFunction = fn('Record', 'video-record', { environment: dbEnvironment });
    bucket.grantRead(this.recordFunction, `${DERIVED_PREFIX}*`);
    bucket.grantDelete(this.recordFunction, `${DERIVED_PREFIX}*`);
    writesDatabase(this.recordFunction);

    this.publishFunction = fn('Publish', 'video-publish', {
      environment: { ...dbEnvironment, ...busEnvironment },
    });
    writesDatabase(this.publishFunction);
    bus.grantPutEventsTo(this.publishFunction);

    this.failFunction = fn('Fail', 'video-fail', {
      environment: { ...dbEnvironment, ...busEnvironment },
    });
    bucket.grantRead(this.failFunction, `${DERIVED_PREFIX}*`);
    bucket.grantDelete(this.failFunction, `${DERIVED_PREFIX}*`);
    writesDatabase(this.failFunction);
    bus.grantPutEventsTo(this.failFunction);

    this.progressFunction = fn('Progress', 'video-progress', {
      environment: { ...dbEnvironment, ...busEnvironment },
    });
    writesDatabase(this.progressFunction);
    bus.grantPutEventsTo(this.progressFunction);

    let transcoder: VideoTranscoder;
    const application = `syncflow-${Stack.of(this).stackName}`;
    if (props.transcoder === 'local') {
      this.transcodeFunction = fn('Transcode', 'video-transcode-local', {
        memorySize: 2048,
        timeout: props.transcodeTimeout,
      });
      bucket.grantRead(this.transcodeFunction, `${UPLOAD_PREFIX}*`);
      bucket.grantPut(this.transcodeFunction, `${DERIVED_PREFIX}*`);
      // Its progress reports go to the default bus, beside MediaConvert's.
      EventBus.fromEventBusName(this, 'DefaultBus', 'default').grantPutEventsTo(
        this.transcodeFunction,
      );
      transcoder = { kind: 'local', function: this.transcodeFunction };
      new Rule(this, 'LocalProgress', {
        description: 'The local transcoder’s progress reports, to the progress function',
        eventPattern: { source: [LOCAL_PROGRESS_SOURCE], detailType: [LOCAL_PROGRESS_DETAIL_TYPE] },
        targets: [new LambdaFunction(this.progressFunction, { retryAttempts: 2 })],
      });
    } else {
      this.mediaConvertRole = new Role(this, 'MediaConvertRole', {
        assumedBy: new ServicePrincipal('mediaconvert.amazonaws.com'),
        description:
          'What MediaConvert may touch for SyncFlow: read staged originals, write derivatives',
      });
      // MediaConvert reads only the staged copy under derived/, never an original's key, whose
      // current bytes may not be the ones checked.
      bucket.grantRead(this.mediaConvertRole, `${DERIVED_PREFIX}*`);
      bucket.grantPut(this.mediaConvertRole, `${DERIVED_PREFIX}*`);
      this.stageSourceFunction = fn('StageSource', 'video-stage-source', {
        timeout: STAGE_SOURCE_TIMEOUT,
      });
      bucket.grantRead(this.stageSourceFunction, `${UPLOAD_PREFIX}*`);
      bucket.grantPut(this.stageSourceFunction, `${DERIVED_PREFIX}*`);
      if (props.jobTemplate ?? true) {
        this.jobTemplate = new CfnJobTemplate(this, 'JobTemplate', {
          description:
            'SyncFlow web rendition (H.264/AAC MP4, ≤ 720p, index first) and poster frames',
          category: 'syncflow',
          settingsJson: mediaConvertTemplateSettings(),
          statusUpdateInterval: 'SECONDS_10',
        });
      }
      transcoder = {
        kind: 'mediaconvert',
        stageFunction: this.stageSourceFunction,
        roleArn: this.mediaConvertRole.roleArn,
        ...(this.jobTemplate && { jobTemplateName: this.jobTemplate.attrName }),
        application,
      };
      new Rule(this, 'MediaConvertProgress', {
        description: 'MediaConvert status updates of this stack’s jobs, to the progress function',
        eventPattern: {
          source: [MEDIACONVERT_SOURCE],
          detailType: [MEDIACONVERT_DETAIL_TYPE],
          detail: { status: ['STATUS_UPDATE'], userMetadata: { application: [application] } },
        },
        targets: [new LambdaFunction(this.progressFunction, { retryAttempts: 2 })],
      });
    }

    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-video`,
      retention: props.logRetention,
      removalPolicy: props.retainLogs
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    const definition = videoWorkflowDefinition(this, {
      functions: {
        probe: this.probeFunction,
        poster: this.posterFunction,
        record: this.recordFunction,
        publish: this.publishFunction,
        fail: this.failFunction,
      },
      transcoder,
      timeouts: {
        probe: Duration.minutes(3),
        transcode: props.transcodeTimeout,
        poster: Duration.minutes(3),
        record: Duration.minutes(1),
      },
    });
    // Every step together, with room for its retries: an execution never hangs.
    this.executionTimeout = props.transcodeTimeout.plus(Duration.minutes(30));
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      comment: 'One video: probe, transcode, poster, record, publish (issue 15)',
      timeout: this.executionTimeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ERROR, includeExecutionData: false },
    });

    const action = props.alarmTopic && new SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, metric: IMetric, description: string) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} See docs/video.md#operations.`,
      });
      if (action) {
        created.addAlarmAction(action);
        created.addOkAction(action);
      }
      this.alarms[alarmId] = created;
    };
    const period = Duration.minutes(5);
    alarm(
      'VideoExecutionsFailed',
      this.stateMachine.metricFailed({ period }),
      'A video execution failed: its file was recorded FAILED with the reason.',
    );
    alarm(
      'VideoExecutionsTimedOut',
      this.stateMachine.metricTimedOut({ period }),
      'A video execution hit the state machine timeout: its file may still be PROCESSING.',
    );
    alarm(
      'VideoExecutionsThrottled',
      this.stateMachine.metricThrottled({ period }),
      'Step Functions throttled the video workflow.',
    );

    NagSuppressions.addResourceSuppressions(this.stateMachine, [
      {
        id: 'AwsSolutions-SF1',
        reason:
          'Errors are logged (without execution data, which names users’ files); every state of every execution is in the Step Functions console for 90 days, and logging ALL would pay for each transition twice.',
      },
    ]);
    NagSuppressions.addResourceSuppressions(
      this,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'S3 grants name action families (GetObject*, …) on one prefix of the bucket (uploads/ or derived/: objects are per file); the state machine invokes its own task functions, any version (`<ARN>:*`, as LambdaInvoke grants); MediaConvert’s CreateJob, GetJob and CancelJob, Step Functions’ log delivery and X-Ray take no resource narrower than *.',
          appliesTo: [
            'Action::s3:GetObject*',
            'Action::s3:GetBucket*',
            'Action::s3:List*',
            'Action::s3:Abort*',
            'Action::s3:DeleteObject*',
            'Resource::*',
            { regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>\\/(uploads|derived)\\/\\*$/' },
            { regex: '/^Resource::<Video[A-Za-z]+[0-9A-F]{8}\\.Arn>:\\*$/' },
          ],
        },
      ],
      true,
    );
  }
}
