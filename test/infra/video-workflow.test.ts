import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { VideoWorkflow } from '../../infra/constructs/video-workflow.ts';
import { DEFAULT_VIDEO_LIMITS } from '../../shared/domain/video.ts';

/** The construct alone in a stack, as the wiring will place it; functions are not bundled. */
const synth = (transcoder: 'local' | 'mediaconvert', transcodeTimeout = Duration.minutes(15)) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, `Video-${transcoder}`, {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const workflow = new VideoWorkflow(stack, 'Video', {
    bucket: new Bucket(stack, 'Bucket', { enforceSSL: true, serverAccessLogsPrefix: 'logs/' }),
    bus: new EventBus(stack, 'Bus'),
    database: {
      environmentFor: () => ({ DATABASE_URL: 'postgres://example/db' }),
      grantDataAccess: () => undefined,
    },
    functions: {
      architecture: 'arm64',
      logRetention: RetentionDays.ONE_WEEK,
      retainLogs: false,
      database: 'aurora',
      sourceMaps: false,
    },
    transcoder,
    limits: DEFAULT_VIDEO_LIMITS,
    transcodeTimeout,
    logRetention: RetentionDays.ONE_WEEK,
    retainLogs: false,
    alarmTopic: new Topic(stack, 'Alarms', { enforceSSL: true }),
  });
  // As infra/stack.ts does for every function of the stack.
  NagSuppressions.addStackSuppressions(stack, [
    {
      id: 'AwsSolutions-IAM4',
      reason: 'Lambda functions use the AWS-managed basic execution role for their logs.',
      appliesTo: [
        'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
      ],
    },
  ]);
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
  return { stack, workflow, template: Template.fromStack(stack) };
};

const aws = synth('mediaconvert', Duration.hours(3));
const local = synth('local');

const definitionOf = (template: Template): string => {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines);
  return JSON.stringify(machine?.Properties?.DefinitionString);
};

describe('the video state machine', () => {
  it('is a Standard state machine with X-Ray, logs under /aws/vendedlogs/states/ and an end', () => {
    for (const { template } of [aws, local]) {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ERROR' }),
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/Video-.*-video$'),
      });
      expect(definitionOf(template)).toMatch(/\\"TimeoutSeconds\\":\d+/);
    }
  });

  it('alarms on failed, timed-out and throttled executions, to the alarm topic', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionThrottled']) {
      aws.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Threshold: 1,
        AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('^Alarms') })],
      });
    }
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    for (const { stack } of [aws, local]) {
      const errors = Annotations.fromStack(stack).findError(
        '*',
        Match.stringLikeRegexp('AwsSolutions-.*'),
      );
      expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 120)}`)).toEqual([]);
    }
  });
});

describe('in AWS: MediaConvert', () => {
  it('runs the job through the .sync integration with the stack’s template and role', () => {
    const definition = definitionOf(aws.template);
    expect(definition).toContain(':states:::mediaconvert:createJob.sync');
    expect(definition).toContain('\\"Settings.$\\":\\"$.probe.jobSettings\\"');
    expect(definition).toContain('\\"StatusUpdateInterval\\":\\"SECONDS_10\\"');
    // The role is the stack's own, named by ARN, not a path into the input.
    expect(definition).toMatch(
      /\\"Role\\":\\"",\{"Fn::GetAtt":\["VideoMediaConvertRole[0-9A-F]+","Arn"\]\}/,
    );
    aws.template.resourceCountIs('AWS::MediaConvert::JobTemplate', 1);
    aws.template.hasResourceProperties('AWS::MediaConvert::JobTemplate', {
      StatusUpdateInterval: 'SECONDS_10',
      SettingsJson: Match.objectLike({
        OutputGroups: Match.arrayWith([
          Match.objectLike({
            Outputs: [
              Match.objectLike({
                ContainerSettings: {
                  Container: 'MP4',
                  Mp4Settings: { MoovPlacement: 'PROGRESSIVE_DOWNLOAD' },
                },
              }),
            ],
          }),
        ]),
      }),
    });
  });

  it('lets MediaConvert read originals and write derivatives only, and the workflow pass only that role', () => {
    aws.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'mediaconvert.amazonaws.com' } })],
      },
    });
    const policies = JSON.stringify(aws.template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('/uploads/*');
    expect(policies).toContain('/derived/*');
    // MediaConvert reads the staged copy under derived/, never an original's key.
    const roleDocuments = Object.values(aws.template.findResources('AWS::IAM::Policy'))
      .filter((policy) =>
        JSON.stringify(policy.Properties.Roles).match(/VideoMediaConvertRole[0-9A-F]+/),
      )
      .map((policy) => JSON.stringify(policy.Properties.PolicyDocument));
    expect(roleDocuments).toHaveLength(1);
    expect(roleDocuments[0]).toContain('/derived/*');
    expect(roleDocuments[0]).not.toContain('/uploads/');
    aws.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'iam:PassRole',
            Condition: { StringLike: { 'iam:PassedToService': 'mediaconvert.amazonaws.com' } },
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VideoMediaConvertRole'), 'Arn'] },
          }),
        ]),
      },
    });
    expect(policies).not.toMatch(/"s3:\*"/);
  });

  it('turns this stack’s MediaConvert status updates into progress', () => {
    aws.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.mediaconvert'],
        'detail-type': ['MediaConvert Job State Change'],
        detail: {
          status: ['STATUS_UPDATE'],
          userMetadata: { application: ['syncflow-Video-mediaconvert'] },
        },
      },
    });
    expect(aws.workflow.transcodeFunction).toBeUndefined();
  });
});

describe('on the local stage: ffmpeg in a function', () => {
  it('has no MediaConvert, a transcode function with the stage’s timeout, and a progress rule', () => {
    local.template.resourceCountIs('AWS::MediaConvert::JobTemplate', 0);
    local.template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      MemorySize: 2048,
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'video-transcode-local' }),
      },
    });
    local.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['syncflow.video'], 'detail-type': ['Transcode Progress'] },
    });
  });

  it('refuses a local transcode longer than one function may run', () => {
    expect(() => synth('local', Duration.minutes(20))).toThrow(/15 minutes at most/);
  });
});
