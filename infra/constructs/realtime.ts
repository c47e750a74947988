import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { EVENT_SOURCE, OWNER_INDEX } from '../../shared/domain/contracts.ts';
import { NOTIFIED_TYPES } from '../../shared/domain/notification.ts';
import type { StageConfig } from '../stages.ts';
import { type FunctionDefaults, SyncFlowFunction } from './base-function.ts';

export interface RealtimeProps {
  readonly stage: StageConfig;
  readonly bus: IEventBus;
  readonly userPool: IUserPool;
  readonly userPoolClient: IUserPoolClient;
  readonly logRetention: RetentionDays;
  readonly functions: FunctionDefaults;
  /** Where the mailer records the emails it sent, so each outcome is mailed once. */
  readonly idempotencyTable: ITable;
  /**
   * API Gateway's account settings (its CloudWatch role), made with the REST API. A stage with
   * access logs waits for it: in an account that never had the role, creating the stage fails
   * with "CloudWatch Logs role ARN must be set in account settings to enable logging".
   */
  readonly apiGatewayAccount?: CfnAccount;
  /**
   * The web console's address, for the mailer's links to a file's view (`#file=<fileId>`).
   * @default no link
   */
  readonly consoleUrl?: string;
}

/**
 * Tells uploaders the moment a file ends: an API Gateway WebSocket API whose `$connect` verifies
 * the user's Cognito token, a table of open connections by user, and a notifier fed by a rule on
 * the custom bus that pushes each `file.processed|failed|rejected` to the owner's connections.
 * With a sender identity in the stage config, a mailer emails owners about FAILED and REJECTED.
 */
export class Realtime extends Construct {
  readonly webSocketApi: WebSocketApi;
  readonly webSocketStage: WebSocketStage;
  readonly connectionsTable: Table;
  readonly notifier: SyncFlowFunction;
  readonly mailer?: SyncFlowFunction;
  readonly connectAuthorizer: SyncFlowFunction;
  readonly connectionsHandler: SyncFlowFunction;
  /** The notifier's work: `file.*` events from the bus, one message each. */
  readonly queue: Queue;
  /** Events the notifier could not deliver after MAX_RECEIVE_COUNT tries; `npm run redrive`. */
  readonly deadLetterQueue: Queue;
  /** Events the mailer could not send after its retries. */
  readonly mailDeadLetterQueue?: Queue;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RealtimeProps) {
    super(scope, id);
    const { stage } = props;

    this.connectionsTable = new Table(this, 'Connections', {
      partitionKey: { name: 'connectionId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: stage.retainData },
      removalPolicy: stage.retainData
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    this.connectionsTable.addGlobalSecondaryIndex({
      indexName: OWNER_INDEX,
      partitionKey: { name: 'ownerId', type: AttributeType.STRING },
      sortKey: { name: 'connectionId', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: ['expiresAt'],
    });

    this.connectAuthorizer = new SyncFlowFunction(this, 'ConnectAuthorizer', {
      ...props.functions,
      entry: 'ws-authorizer',
      serviceName: 'ws-authorizer',
      environment: {
        USER_POOL_ID: props.userPool.userPoolId,
        USER_POOL_CLIENT_ID: props.userPoolClient.userPoolClientId,
        ...(stage.keysEndpoint && {
          JWKS_URI: `${stage.keysEndpoint}/${props.userPool.userPoolId}/.well-known/jwks.json`,
        }),
      },
    });
    const authorizerFunction = this.connectAuthorizer;
    this.connectionsHandler = new SyncFlowFunction(this, 'ConnectionsHandler', {
      ...props.functions,
      entry: 'ws-connections',
      serviceName: 'ws-connections',
      environment: { CONNECTIONS_TABLE_NAME: this.connectionsTable.tableName },
    });
    const connections = this.connectionsHandler;

    const integration = new WebSocketLambdaIntegration('ConnectionsIntegration', connections);
    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      description: `SyncFlow notifications (${stage.name})`,
      connectRouteOptions: {
        integration,
        // Browsers cannot set headers on a WebSocket: the token comes in the query string.
        authorizer: new WebSocketLambdaAuthorizer('ConnectAuthorizer', authorizerFunction, {
          identitySource: ['route.request.querystring.token'],
        }),
      },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration },
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: stage.retainData
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    this.webSocketStage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: stage.name,
      autoDeploy: true,
      throttle: { rateLimit: stage.apiThrottle.rate, burstLimit: stage.apiThrottle.burst },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    if (props.apiGatewayAccount) this.webSocketStage.node.addDependency(props.apiGatewayAccount);

    this.deadLetterQueue = new Queue(this, 'NotificationsDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const managementUrl = stage.emulatorEndpoint
      ? `${stage.emulatorEndpoint}/_aws/execute-api/${this.webSocketApi.apiId}/${stage.name}`
      : this.webSocketStage.callbackUrl;
    connections.addEnvironment('WEBSOCKET_MANAGEMENT_URL', managementUrl);
    this.connectionsTable.grantReadWriteData(connections);
    this.webSocketStage.grantManagementApiAccess(connections);
    // A connection ends with the token that opened it: the same function closes the expired
    // ones on a schedule (the notifier already skips them).
    new Rule(this, 'CloseExpiredConnections', {
      description: 'Closes WebSocket connections whose token expired',
      schedule: Schedule.rate(Duration.minutes(stage.sweepEveryMinutes)),
      targets: [new LambdaFunction(connections, { retryAttempts: 0 })],
    });
    const notifierTimeout = Duration.seconds(30);
    this.queue = new Queue(this, 'NotificationsQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(notifierTimeout.toSeconds() * 6),
      retentionPeriod: Duration.hours(6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: stage.maxReceiveCount },
    });
    this.notifier = new SyncFlowFunction(this, 'Notifier', {
      ...props.functions,
      entry: 'notifier',
      serviceName: 'notifier',
      timeout: notifierTimeout,
      environment: {
        CONNECTIONS_TABLE_NAME: this.connectionsTable.tableName,
        WEBSOCKET_MANAGEMENT_URL: managementUrl,
      },
    });
    // Each event is its own record: one that cannot be delivered is retried alone, then parked.
    this.notifier.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    this.connectionsTable.grantReadWriteData(this.notifier);
    this.webSocketStage.grantManagementApiAccess(this.notifier);

    this.rule = new Rule(this, 'FileEnded', {
      description: 'Tells owners when their files end',
      eventBus: props.bus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [...NOTIFIED_TYPES] },
      targets: [
        new SqsQueue(this.queue, {
          // Events EventBridge could not deliver end in the same DLQ.
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });

    if (stage.notificationSender) {
      // SES keeps one identity per address and region: a second stage naming the same sender
      // must use the existing one, or its deploy fails on "already exists".
      const identityName =
        stage.notificationSenderIdentity === 'existing'
          ? stage.notificationSender
          : new EmailIdentity(this, 'SenderIdentity', {
              identity: Identity.email(stage.notificationSender),
            }).emailIdentityName;
      this.mailDeadLetterQueue = new Queue(this, 'MailDeadLetterQueue', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.mailer = new SyncFlowFunction(this, 'Mailer', {
        ...props.functions,
        entry: 'mailer',
        serviceName: 'mailer',
        environment: {
          NOTIFICATION_SENDER: stage.notificationSender,
          USER_POOL_ID: props.userPool.userPoolId,
          IDEMPOTENCY_TABLE_NAME: props.idempotencyTable.tableName,
          ...(props.consoleUrl && { CONSOLE_URL: props.consoleUrl }),
        },
        // An email SES refused is retried twice, then the event is parked here.
        deadLetterQueue: this.mailDeadLetterQueue,
        retryAttempts: 2,
      });
      props.idempotencyTable.grantReadWriteData(this.mailer);
      const { account, region, partition } = Stack.of(this);
      this.mailer.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['ses:SendEmail'],
          resources: [`arn:${partition}:ses:${region}:${account}:identity/${identityName}`],
        }),
      );
      this.mailer.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['cognito-idp:ListUsers'],
          resources: [props.userPool.userPoolArn],
        }),
      );
      new Rule(this, 'FileFailedOrRejected', {
        description: 'Emails owners when their files fail or are rejected',
        eventBus: props.bus,
        eventPattern: { source: [EVENT_SOURCE], detailType: ['file.failed', 'file.rejected'] },
        targets: [
          new LambdaFunction(this.mailer, {
            deadLetterQueue: this.mailDeadLetterQueue,
            retryAttempts: 8,
            maxEventAge: Duration.hours(2),
          }),
        ],
      });
    }

    NagSuppressions.addResourceSuppressions(
      this.webSocketApi,
      [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            '$connect has the token authorizer; $disconnect and $default only run on a connection it admitted.',
        },
      ],
      true,
    );
  }
}
