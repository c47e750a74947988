import { Duration, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { DatabaseCluster } from 'aws-cdk-lib/aws-rds';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { MetricName } from '../../shared/observability/powertools.ts';
import type { StageConfig } from '../stages.ts';
import type { SyncFlowFunction } from './base-function.ts';

export interface ObservabilityProps {
  readonly stage: StageConfig;
  /** Each kind's ingest queue, by kind. */
  readonly ingestQueues: Readonly<Record<string, IQueue>>;
  /** Every DLQ of the stack, by the name an operator knows it by. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  readonly functions: Readonly<Record<string, SyncFlowFunction>>;
  /** Each kind's function, by kind. */
  readonly processors: Readonly<Record<string, SyncFlowFunction>>;
  /** The scheduled function that ends stuck files: its failures mean files stop ending. */
  readonly sweeper: SyncFlowFunction;
  readonly restApi: RestApi;
  readonly webSocketApi: WebSocketApi;
  readonly webSocketStage: WebSocketStage;
  readonly cluster?: DatabaseCluster;
  /**
   * The video workflow (VideoWorkflow): its executions on the dashboard, and its alarms (made
   * with it, before this topic exists) sent to the topic like every other.
   */
  readonly videoWorkflow?: {
    readonly stateMachine: IStateMachine;
    readonly alarms: Readonly<Record<string, Alarm>>;
  };
}

const FIVE_MINUTES = Duration.minutes(5);
const FIFTEEN_MINUTES = Duration.minutes(15);
const ONE_MINUTE = Duration.minutes(1);

/** A metric the functions emit through Powertools (namespace SyncFlow, dimension `service`). */
export const appMetric = (name: string, service: string, statistic = 'Sum'): Metric =>
  new Metric({
    namespace: 'SyncFlow',
    metricName: name,
    dimensionsMap: { service },
    statistic,
    period: FIVE_MINUTES,
  });

/**
 * What the people who run a stage look at and are woken by: one dashboard (uploads, outcomes,
 * latency, queues, functions, APIs, notifications, database) and alarms on an SNS topic, each
 * explained in docs/operations.md under its construct id.
 */
export class Observability extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Record<string, Alarm> = {};

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { stage } = props;
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `SyncFlow ${stage.name} alarms`,
      enforceSSL: true,
    });
    // enforceSSL gives the topic a policy of its own, which replaces SNS's default one (that let
    // the account's services publish): CloudWatch needs its own Allow, for this account's alarms.
    const { account, partition, region } = Stack.of(this);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    if (stage.alarmEmail) this.topic.addSubscription(new EmailSubscription(stage.alarmEmail));
    NagSuppressions.addResourceSuppressions(this.topic, [
      {
        id: 'AwsSolutions-SNS2',
        reason:
          'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key; alarm messages carry no file data.',
      },
    ]);
    const action = new SnsAction(this.topic);
    const alarm = (
      alarmId: string,
      metric: IMetric,
      threshold: number,
      description: string,
      evaluationPeriods = 1,
    ) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} See docs/operations.md#${alarmId.toLowerCase()}.`,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms[alarmId] = created;
      return created;
    };

    for (const [alarmId, created] of Object.entries(props.videoWorkflow?.alarms ?? {})) {
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms[alarmId] = created;
    }

    // Any message in any DLQ: work that did not happen.
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({
          period: ONE_MINUTE,
          statistic: 'Maximum',
        }),
        1,
        `Messages are waiting in the ${name} DLQ.`,
      );
    }
    // Per kind: its backlog and its errors. The image kind keeps the alarm ids of the single
    // processor it was before kinds, so existing subscriptions and runbook links still hold.
    const kinds = Object.keys(props.processors);
    const idFor = (kind: string, base: string) =>
      kind === 'image' ? base : `${kind[0]?.toUpperCase()}${kind.slice(1)}${base}`;
    const oldest: Record<string, IMetric> = {};
    const errorRates: IMetric[] = [];
    for (const kind of kinds) {
      const queue = props.ingestQueues[kind];
      const processor = props.processors[kind];
      if (!queue || !processor) throw new Error(`The ${kind} kind has no queue or function`);
      const oldestIngest = queue.metricApproximateAgeOfOldestMessage({
        period: ONE_MINUTE,
        statistic: 'Maximum',
      });
      oldest[kind] = oldestIngest;
      alarm(
        idFor(kind, 'IngestBacklog'),
        oldestIngest,
        stage.maxIngestAgeSeconds,
        `The oldest ${kind} upload has waited over ${stage.maxIngestAgeSeconds} s for its function.`,
        3,
      );
      // Ids are per kind: one graph shows every kind's rate.
      const errorRate = new MathExpression({
        expression: `100 * errors_${kind} / MAX([invocations_${kind}, 1])`,
        usingMetrics: {
          [`errors_${kind}`]: processor.metricErrors({ period: FIVE_MINUTES }),
          [`invocations_${kind}`]: processor.metricInvocations({ period: FIVE_MINUTES }),
        },
        label: `${kind} function error rate (%)`,
        period: FIVE_MINUTES,
      });
      errorRates.push(errorRate);
      if (stage.metricMathAlarms) {
        alarm(
          idFor(kind, 'ProcessorErrors'),
          errorRate,
          5,
          `Over 5 % of the ${kind} function's invocations failed.`,
        );
      } else {
        alarm(
          idFor(kind, 'ProcessorErrors'),
          processor.metricErrors({ period: FIVE_MINUTES }),
          5,
          `Five or more ${kind} function invocations failed in five minutes.`,
        );
      }
    }
    const services = kinds.map((kind) => props.processors[kind]?.serviceName ?? kind);
    const perKind = (name: string, statistic = 'Sum') =>
      services.map((service) => appMetric(name, service, statistic));
    // The average of 5XXError is the share of requests that answered 5xx.
    const api5xxRate = props.restApi.metricServerError({
      period: FIVE_MINUTES,
      statistic: 'Average',
    });
    alarm('Api5xx', api5xxRate, 0.01, 'Over 1 % of REST API requests answered 5xx.');
    alarm(
      'SweeperErrors',
      props.sweeper.metricErrors({ period: FIFTEEN_MINUTES }),
      2,
      'The sweeper failed twice in 15 minutes: stuck files and unused uploads are not being ended.',
    );
    alarm(
      'NotifierFailures',
      appMetric(MetricName.NotificationsFailed, 'notifier'),
      1,
      'The notifier could not reach connections for a reason other than their being gone.',
    );
    alarm(
      'MultipartChecksumsUnverified',
      appMetric(MetricName.MultipartChecksumsUnverified, 'multipart-api'),
      1,
      'A multipart upload completed without a CRC64NVME from S3 to compare with the client: its bytes were not checked end to end.',
    );

    // The dashboard, top to bottom: what users do, what happens to files, where work waits,
    // how the functions and APIs behave, and the database.
    const widget = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 8, height: 6 });
    const functions = Object.entries(props.functions);
    const perFunction = (make: (fn: SyncFlowFunction) => IMetric) =>
      functions.map(([, fn]) => make(fn));
    const webSocketMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: props.webSocketApi.apiId, Stage: props.webSocketStage.stageName },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# SyncFlow ${stage.name}\nAlarms and what to do: docs/operations.md. Follow one file by its \`fileId\` in the logs (every line about it carries it) and in X-Ray.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      widget('Uploads requested', [appMetric(MetricName.UploadsRequested, 'upload-api')]),
      widget(
        'Files processed / failed / rejected, by kind',
        [
          ...perKind(MetricName.FilesProcessed),
          ...perKind(MetricName.FilesFailed),
          ...perKind(MetricName.FilesRejected),
        ],
        perKind(MetricName.BytesProcessed),
      ),
      widget('End-to-end latency (S3 event → processed) p50 and p95 by kind, ms', [
        ...perKind(MetricName.EndToEndLatency, 'p50'),
        ...perKind(MetricName.EndToEndLatency, 'p95'),
      ]),
    );
    this.dashboard.addWidgets(
      widget(
        'Ingest queues by kind: depth and oldest message (s)',
        kinds.flatMap((kind) => {
          const queue = props.ingestQueues[kind];
          return queue
            ? [queue.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE })]
            : [];
        }),
        Object.values(oldest),
      ),
      widget(
        'Dead-letter queues',
        Object.values(props.deadLetterQueues).map((q) =>
          q.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: 'Maximum' }),
        ),
      ),
      widget(
        'Duplicate and unknown events skipped, versions removed, files swept',
        [
          ...perKind(MetricName.DuplicateEventsSkipped),
          ...perKind(MetricName.UnknownObjectsSkipped),
          ...perKind(MetricName.VersionsRemoved),
          appMetric(MetricName.FilesSwept, 'sweeper'),
        ],
        errorRates,
      ),
    );
    this.dashboard.addWidgets(
      widget(
        'Lambda duration p95 (ms)',
        perFunction((fn) => fn.metricDuration({ statistic: 'p95', period: FIVE_MINUTES })),
      ),
      widget(
        'Lambda errors',
        perFunction((fn) => fn.metricErrors({ period: FIVE_MINUTES })),
      ),
      widget(
        'Lambda throttles',
        perFunction((fn) => fn.metricThrottles({ period: FIVE_MINUTES })),
      ),
    );
    this.dashboard.addWidgets(
      widget(
        'REST API 4xx / 5xx',
        [
          props.restApi.metricClientError({ period: FIVE_MINUTES }),
          props.restApi.metricServerError({ period: FIVE_MINUTES }),
        ],
        [api5xxRate],
      ),
      widget('REST API latency (ms)', [
        props.restApi.metricLatency({ period: FIVE_MINUTES, statistic: 'p50' }),
        props.restApi.metricLatency({ period: FIVE_MINUTES, statistic: 'p95' }),
      ]),
      widget(
        'WebSocket connections and notifications',
        [webSocketMetric('ConnectCount'), webSocketMetric('MessageCount')],
        [
          appMetric(MetricName.NotificationsSent, 'notifier'),
          appMetric(MetricName.NotificationsFailed, 'notifier'),
          appMetric(MetricName.ConnectionsGone, 'notifier'),
        ],
      ),
    );
    const video = props.videoWorkflow?.stateMachine;
    if (video) {
      this.dashboard.addWidgets(
        widget(
          'Video executions: started, succeeded, failed, timed out',
          [
            video.metricStarted({ period: FIVE_MINUTES }),
            video.metricSucceeded({ period: FIVE_MINUTES }),
            video.metricFailed({ period: FIVE_MINUTES }),
            video.metricTimedOut({ period: FIVE_MINUTES }),
          ],
          [video.metricTime({ period: FIVE_MINUTES, statistic: 'p95' })],
        ),
      );
    }
    if (props.cluster) {
      const rds = (metricName: string) =>
        new Metric({
          namespace: 'AWS/RDS',
          metricName,
          dimensionsMap: { DBClusterIdentifier: props.cluster?.clusterIdentifier ?? '' },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        });
      this.dashboard.addWidgets(
        widget(
          'Aurora capacity (ACU) and utilisation (%)',
          [rds('ServerlessDatabaseCapacity')],
          [rds('ACUUtilization')],
        ),
      );
    }
  }
}
