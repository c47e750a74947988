import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  type CfnAccount,
  Cors,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  MockIntegration,
  PassthroughBehavior,
  RequestValidator,
  ResponseType,
  RestApi,
  TokenAuthorizer,
} from 'aws-cdk-lib/aws-apigateway';
import {
  AccountRecovery,
  FeaturePlan,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ANALYTICS_PREFIX, DERIVED_PREFIX, UPLOAD_PREFIX } from '../../shared/domain/keys.ts';
import { type PipelineTiming, timingEnvironment } from '../../shared/domain/lifecycle.ts';
import { checkMultipartSettings } from '../../shared/domain/multipart.ts';
import type { StageConfig } from '../stages.ts';
import { type FunctionDefaults, SyncFlowFunction } from './base-function.ts';
import type { Metadata } from './metadata.ts';

export interface ApiProps {
  readonly stage: StageConfig;
  readonly bucket: IBucket;
  /** The bus of the public `file.*` events (`file.deleted` is published from here). */
  readonly bus: IEventBus;
  readonly metadata: Metadata;
  readonly logRetention: RetentionDays;
  readonly functions: FunctionDefaults;
  /** The pipeline's clock: a reprocess of a stuck file is allowed by the same rules the sweeper follows. */
  readonly timing: PipelineTiming;
  /** The video workflow, whose executions `GET /files/{fileId}/workflow` reads (and no other). */
  readonly videoStateMachine: IStateMachine;
}

/**
 * The REST API and its users: a Cognito user pool, a token authorizer that verifies the pool's
 * tokens (enforced in AWS and in the emulator alike), `POST /uploads`, `POST /uploads/batch`,
 * `GET /files`, `GET|DELETE /files/{fileId}`, `GET /files/{fileId}/workflow`,
 * `POST /files/{fileId}/reprocess`, the multipart routes under
 * `/uploads/{fileId}` and `GET /health`.
 */
export class Api extends Construct {
  readonly restApi: RestApi;
  readonly userPool: UserPool;
  readonly userPoolClient: UserPoolClient;
  readonly authorizerFunction: SyncFlowFunction;
  readonly uploadApi: SyncFlowFunction;
  /**
   * `GET /files`, `GET /files/{fileId}`, `GET /files/{fileId}/workflow`: reads the bucket, the
   * database and the video workflow's executions, nothing else.
   */
  readonly filesApi: SyncFlowFunction;
  /** `GET /files/{fileId}/workflow`: a video's Step Functions execution and its steps. */
  readonly workflowApi: SyncFlowFunction;
  /** `DELETE /files/{fileId}`, `POST /files/{fileId}/reprocess`: the routes that change a file. */
  readonly fileActions: SyncFlowFunction;
  /** API Gateway's account settings with the CloudWatch role the REST API made for its logs. */
  readonly cloudWatchAccount: CfnAccount;
  /** The routes of an upload in parts: sign parts, list them, complete, abort. */
  readonly multipartApi: SyncFlowFunction;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { stage } = props;
    checkMultipartSettings(
      { thresholdBytes: stage.multipartThresholdBytes, minPartBytes: stage.multipartMinPartBytes },
      stage.maxUploadBytes,
    );
    // Every API function answers browsers from the stage's origins with CORS headers.
    const cors = { CORS_ORIGINS: stage.corsOrigins.join(',') };
    const multipart = {
      MULTIPART_THRESHOLD_BYTES: String(stage.multipartThresholdBytes),
      MULTIPART_MIN_PART_BYTES: String(stage.multipartMinPartBytes),
      // A session lasts until the bucket aborts it: its file expires then, not with a URL.
      ABORT_INCOMPLETE_MULTIPART_DAYS: String(stage.abortIncompleteMultipartDays),
    };
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      removalPolicy: stage.retainData
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    this.userPoolClient = this.userPool.addClient('WebClient', {
      authFlows: { userSrp: true, userPassword: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
    });
    NagSuppressions.addResourceSuppressions(this.userPool, [
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is a per-deployment policy choice; users are created by an administrator (no self sign-up).',
      },
      {
        id: 'AwsSolutions-COG3',
        reason:
          'Threat protection (advanced security) needs the Plus feature plan; this pool is on Essentials, self sign-up is off and users are created by an administrator.',
      },
    ]);

    this.authorizerFunction = new SyncFlowFunction(this, 'Authorizer', {
      ...props.functions,
      entry: 'authorizer',
      serviceName: 'authorizer',
      environment: {
        USER_POOL_ID: this.userPool.userPoolId,
        USER_POOL_CLIENT_ID: this.userPoolClient.userPoolClientId,
        ...(stage.keysEndpoint && {
          JWKS_URI: `${stage.keysEndpoint}/${this.userPool.userPoolId}/.well-known/jwks.json`,
        }),
      },
    });
    const authorizer = new TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizerFunction,
      resultsCacheTtl: Duration.minutes(5),
    });

    this.uploadApi = new SyncFlowFunction(this, 'UploadApi', {
      ...props.functions,
      entry: 'upload-api',
      serviceName: 'upload-api',
      environment: {
        ...props.metadata.environmentFor('write'),
        BUCKET_NAME: props.bucket.bucketName,
        MAX_UPLOAD_BYTES: String(stage.maxUploadBytes),
        ALLOWED_CONTENT_TYPES: stage.allowedContentTypes.join(','),
        UPLOAD_URL_TTL_SECONDS: String(stage.uploadUrlTtlSeconds),
        UPLOADS_PER_MINUTE: String(stage.requestLimits.uploadsPerMinute),
        MAX_PENDING_UPLOADS: String(stage.requestLimits.pendingUploads),
        ...multipart,
        ...cors,
      },
    });
    // Presigning needs the right to put what it presigns: uploads/ only.
    props.bucket.grantPut(this.uploadApi, `${UPLOAD_PREFIX}*`);
    props.metadata.grantDataAccess(this.uploadApi, 'write');

    this.filesApi = new SyncFlowFunction(this, 'FilesApi', {
      ...props.functions,
      entry: 'files-api',
      serviceName: 'files-api',
      // The reading role: it cannot change a row, nor the schema.
      environment: {
        ...props.metadata.environmentFor('read'),
        ...cors,
      },
    });
    // Download URLs are presigned GETs of the original and its derivatives: read rights on both
    // prefixes, nothing else.
    for (const prefix of [UPLOAD_PREFIX, DERIVED_PREFIX]) {
      props.bucket.grantRead(this.filesApi, `${prefix}*`);
    }
    props.metadata.grantDataAccess(this.filesApi, 'read');

    // A video's workflow, in a function of its own (functions/workflow-api.ts says why).
    this.workflowApi = new SyncFlowFunction(this, 'WorkflowApi', {
      ...props.functions,
      entry: 'workflow-api',
      serviceName: 'workflow-api',
      environment: {
        ...props.metadata.environmentFor('read'),
        ...cors,
        STATE_MACHINE_ARN: props.videoStateMachine.stateMachineArn,
      },
    });
    props.metadata.grantDataAccess(this.workflowApi, 'read');
    // Describe and read the history of that machine's executions, nothing else (no
    // ListExecutions, no other machine, no execution's start or stop).
    props.videoStateMachine.grantExecution(
      this.workflowApi,
      'states:DescribeExecution',
      'states:GetExecutionHistory',
    );
    NagSuppressions.addResourceSuppressions(
      this.workflowApi,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "The video state machine's executions (`execution:<machine>:*`): one per file version, named at run time; only DescribeExecution and GetExecutionHistory.",
          appliesTo: [
            {
              regex:
                '/^Resource::arn:(<AWS::Partition>|[a-z-]+):states:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|[0-9]+):execution:.*VideoStateMachine[0-9A-F]{8}.*:\\*$/',
            },
          ],
        },
      ],
      true,
    );

    this.fileActions = new SyncFlowFunction(this, 'FileActions', {
      ...props.functions,
      entry: 'file-actions',
      serviceName: 'file-actions',
      environment: {
        ...props.metadata.environmentFor('write'),
        ...timingEnvironment(props.timing),
        EVENT_BUS_NAME: props.bus.eventBusName,
        REPROCESS_PER_MINUTE: String(stage.requestLimits.reprocessPerMinute),
        ...cors,
      },
    });
    props.bus.grantPutEventsTo(this.fileActions);
    // A delete removes every version of the original and its derivatives; a reprocess reads the
    // original's current version.
    for (const prefix of [UPLOAD_PREFIX, DERIVED_PREFIX]) {
      props.bucket.grantRead(this.fileActions, `${prefix}*`);
      props.bucket.grantDelete(this.fileActions, `${prefix}*`);
    }
    // A deleted file's rows leave its dataset's and its logs' tables too.
    props.bucket.grantDelete(this.fileActions, `${ANALYTICS_PREFIX}*`);
    props.metadata.grantDataAccess(this.fileActions, 'write');

    this.multipartApi = new SyncFlowFunction(this, 'MultipartApi', {
      ...props.functions,
      entry: 'multipart-api',
      serviceName: 'multipart-api',
      environment: {
        ...props.metadata.environmentFor('write'),
        BUCKET_NAME: props.bucket.bucketName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        PART_URL_TTL_SECONDS: String(stage.uploadUrlTtlSeconds),
        ...multipart,
        ...cors,
      },
    });
    // Parts are PUT under uploads/ only; listing, completing and aborting are object-level
    // multipart actions there; a version refused at completion is deleted.
    props.bucket.grantPut(this.multipartApi, `${UPLOAD_PREFIX}*`);
    props.bucket.grantDelete(this.multipartApi, `${UPLOAD_PREFIX}*`);
    this.multipartApi.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [props.bucket.arnForObjects(`${UPLOAD_PREFIX}*`)],
      }),
    );
    props.bus.grantPutEventsTo(this.multipartApi);
    props.metadata.grantDataAccess(this.multipartApi, 'write');

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: stage.retainData
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    this.restApi = new RestApi(this, 'RestApi', {
      // API Gateway's metrics are by API name: one per stack keeps stages' figures apart.
      restApiName: Stack.of(this).stackName,
      description: `SyncFlow REST API (${stage.name})`,
      cloudWatchRole: true,
      deployOptions: {
        stageName: stage.name,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        throttlingRateLimit: stage.apiThrottle.rate,
        throttlingBurstLimit: stage.apiThrottle.burst,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      defaultCorsPreflightOptions:
        stage.corsOrigins.length > 0
          ? {
              allowOrigins: [...stage.corsOrigins],
              allowMethods: Cors.ALL_METHODS,
              allowHeaders: ['Authorization', 'Content-Type'],
            }
          : undefined,
      defaultMethodOptions: { authorizer, authorizationType: AuthorizationType.CUSTOM },
    });
    this.cloudWatchAccount = this.restApi.node.findChild('Account') as CfnAccount;
    // What API Gateway answers by itself (no token, a refused token, throttling, an unknown
    // route) keeps the contract's `{error: {code, message}}` body too; DEFAULT_5XX keeps its
    // status (502, 504). Where API Gateway's own sentence would mislead ("Missing Authentication
    // Token" for a route that does not exist), the message is ours; where it carries the detail
    // (a bad body, throttling), it is API Gateway's.
    const ours = (message: string) => JSON.stringify(message);
    const gatewayErrors: [string, ResponseType, number | undefined, string, string][] = [
      [
        'Unauthorized',
        ResponseType.UNAUTHORIZED,
        401,
        'UNAUTHORIZED',
        ours(
          'No valid token: send the signed-in user\'s token as "Authorization: Bearer <token>" (it is missing, malformed, or not one of this stack\'s users)',
        ),
      ],
      [
        'AccessDenied',
        ResponseType.ACCESS_DENIED,
        403,
        'FORBIDDEN',
        ours('This token may not call this API'),
      ],
      [
        'UnknownRoute',
        ResponseType.MISSING_AUTHENTICATION_TOKEN,
        404,
        'NOT_FOUND',
        ours('No such route: check the method and the path'),
      ],
      [
        'Throttled',
        ResponseType.THROTTLED,
        429,
        'TOO_MANY_REQUESTS',
        '$context.error.messageString',
      ],
      [
        'TooLarge',
        ResponseType.REQUEST_TOO_LARGE,
        413,
        'PAYLOAD_TOO_LARGE',
        '$context.error.messageString',
      ],
      [
        'BadBody',
        ResponseType.BAD_REQUEST_BODY,
        400,
        'BAD_REQUEST',
        '$context.error.messageString',
      ],
      [
        'BadParameters',
        ResponseType.BAD_REQUEST_PARAMETERS,
        400,
        'BAD_REQUEST',
        '$context.error.messageString',
      ],
      [
        'MediaType',
        ResponseType.UNSUPPORTED_MEDIA_TYPE,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        '$context.error.messageString',
      ],
      [
        'NoResource',
        ResponseType.RESOURCE_NOT_FOUND,
        404,
        'NOT_FOUND',
        ours('No such route: check the method and the path'),
      ],
      ['Other5xx', ResponseType.DEFAULT_5XX, undefined, 'INTERNAL', '$context.error.messageString'],
    ];
    // A browser can read these errors (a 401 that should send the user to sign in again) only
    // with CORS headers. API Gateway cannot choose among several origins here, and echoing the
    // caller's Origin would hand them to any page: they name the stage's first origin (the
    // console's), so no other origin can read them.
    const [firstOrigin] = stage.corsOrigins;
    const corsHeaders: Record<string, string> | undefined =
      firstOrigin === undefined
        ? undefined
        : { 'Access-Control-Allow-Origin': `'${firstOrigin}'`, Vary: "'Origin'" };
    for (const [id, type, statusCode, code, message] of gatewayErrors) {
      this.restApi.addGatewayResponse(id, {
        type,
        ...(corsHeaders && { responseHeaders: corsHeaders }),
        ...(statusCode !== undefined && { statusCode: String(statusCode) }),
        templates: {
          // messageString is already a quoted JSON string; ours are quoted by JSON.stringify.
          'application/json': `{"error":{"code":"${code}","message":${message}}}`,
        },
      });
    }
    const validator = new RequestValidator(this, 'BodyValidator', {
      restApi: this.restApi,
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const uploads = this.restApi.root.addResource('uploads');
    uploads.addMethod('POST', new LambdaIntegration(this.uploadApi), {
      requestValidator: validator,
    });
    // A static segment beside `{fileId}`: API Gateway matches it first, so no file id is taken.
    uploads.addResource('batch').addMethod('POST', new LambdaIntegration(this.uploadApi), {
      requestValidator: validator,
    });
    const multipartIntegration = new LambdaIntegration(this.multipartApi);
    const upload = uploads.addResource('{fileId}');
    upload.addMethod('DELETE', multipartIntegration);
    const parts = upload.addResource('parts');
    parts.addMethod('POST', multipartIntegration);
    parts.addMethod('GET', multipartIntegration);
    upload.addResource('complete').addMethod('POST', multipartIntegration);

    const files = this.restApi.root.addResource('files');
    files.addMethod('GET', new LambdaIntegration(this.filesApi));
    const file = files.addResource('{fileId}');
    file.addMethod('GET', new LambdaIntegration(this.filesApi));
    file.addMethod('DELETE', new LambdaIntegration(this.fileActions));
    file.addResource('reprocess').addMethod('POST', new LambdaIntegration(this.fileActions));
    file.addResource('workflow').addMethod('GET', new LambdaIntegration(this.workflowApi));

    // The health check answers from API Gateway itself, so no function adds CORS headers: it
    // names the same origin as the gateway's errors, or a console could not read it.
    const healthHeaders = Object.fromEntries(
      Object.entries(corsHeaders ?? {}).map(([name, value]) => [
        `method.response.header.${name}`,
        value,
      ]),
    );
    this.restApi.root.addResource('health').addMethod(
      'GET',
      new MockIntegration({
        passthroughBehavior: PassthroughBehavior.NEVER,
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [
          {
            statusCode: '200',
            responseParameters: healthHeaders,
            responseTemplates: { 'application/json': '{"status":"ok"}' },
          },
        ],
      }),
      {
        authorizationType: AuthorizationType.NONE,
        authorizer: undefined,
        methodResponses: [
          {
            statusCode: '200',
            responseParameters: Object.fromEntries(
              Object.keys(healthHeaders).map((name) => [name, true]),
            ),
          },
        ],
      },
    );
    NagSuppressions.addResourceSuppressions(
      this.restApi,
      [
        {
          id: 'AwsSolutions-APIG3',
          reason:
            'WAF is an account-level choice of the operator; the stage throttles every route.',
        },
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'GET /health and CORS preflight are public on purpose; every other route has the token authorizer.',
        },
        {
          id: 'AwsSolutions-COG4',
          reason:
            'A token authorizer verifies the Cognito tokens itself, so authentication is enforced in the emulator too.',
        },
        {
          id: 'AwsSolutions-IAM4',
          reason: 'API Gateway writes its logs with the AWS-managed push-to-CloudWatch role.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
          ],
        },
      ],
      true,
    );
  }
}
