import { Duration, Stack } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { StateGraph } from 'aws-cdk-lib/aws-stepfunctions';
import {
  type VideoTaskFunctions,
  videoWorkflowDefinition,
} from '../../infra/constructs/video-workflow.ts';

/** The task functions' names, as a test deploys them. */
export type VideoFunctionArns = Record<keyof VideoTaskFunctions | 'transcode', string>;

/** An Amazon States Language document, as much of it as the tests read. */
export interface Asl {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}
export interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Next?: string;
  End?: boolean;
  Parameters?: Record<string, unknown>;
  Choices?: { Next: string }[];
  Default?: string;
}

/**
 * The video workflow's definition exactly as the construct builds it, rendered to ASL against
 * functions named by ARN: what the unit tests inspect and the emulator test runs.
 */
export const renderVideoDefinition = (
  arns: VideoFunctionArns,
  transcoder: 'local' | 'mediaconvert' = 'local',
): Asl => {
  const stack = new Stack(undefined, 'VideoDefinition', {
    env: { account: '000000000000', region: 'us-east-1' },
  });
  const fn = (id: string, arn: string) => LambdaFunction.fromFunctionArn(stack, id, arn);
  const chain = videoWorkflowDefinition(stack, {
    functions: {
      probe: fn('Probe', arns.probe),
      poster: fn('Poster', arns.poster),
      record: fn('Record', arns.record),
      publish: fn('Publish', arns.publish),
      fail: fn('Fail', arns.fail),
    },
    transcoder:
      transcoder === 'local'
        ? { kind: 'local', function: fn('Transcode', arns.transcode) }
        : {
            kind: 'mediaconvert',
            stageFunction: fn('StageSource', lambdaArn('stage-source')),
            roleArn: 'arn:aws:iam::000000000000:role/mediaconvert',
            jobTemplateName: 'syncflow-web',
            application: 'syncflow-test',
          },
    timeouts: {
      probe: Duration.minutes(3),
      transcode: Duration.minutes(10),
      poster: Duration.minutes(3),
      record: Duration.minutes(1),
    },
  });
  const graph = new StateGraph(chain.startState, 'video workflow');
  return withPartition(stack.resolve(graph.toGraphJson())) as Asl;
};

/** Integration ARNs name `${AWS::Partition}`: `aws` here, as in every commercial region. */
const withPartition = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withPartition);
  if (value === null || typeof value !== 'object') return value;
  const join = (value as Record<string, unknown>)['Fn::Join'];
  if (Array.isArray(join) && join[0] === '' && Array.isArray(join[1])) {
    return (join[1] as unknown[])
      .map((part) =>
        typeof part === 'string'
          ? part
          : (part as { Ref?: string }).Ref === 'AWS::Partition'
            ? 'aws'
            : '?',
      )
      .join('');
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, withPartition(v)]),
  );
};

export const lambdaArn = (name: string): string =>
  `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
