import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SyncFlowStack } from '../../infra/stack.ts';
import { STAGES, type StageConfig, stageConfig } from '../../infra/stages.ts';
import { documentedRoutes } from '../support/openapi.ts';

/** Synthesises a stage without bundling the functions (bundles are checked by `npm run bench`). */
const synth = (stage: StageConfig) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SyncFlowStack(app, `SyncFlow-${stage.name}`, { stage });
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
  return { stack, template: Template.fromStack(stack) };
};

const dev = synth(stageConfig('dev'));
const prod = synth(stageConfig('prod'));
const local = synth(stageConfig('local'));

describe('storage', () => {
  it('blocks public access, encrypts, versions and sends events to EventBridge', () => {
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({ ServerSideEncryptionConfiguration: Match.anyValue() }),
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
        ]),
      },
    });
    // The stage sets how long an abandoned multipart upload keeps its parts.
    local.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });

  it('denies every request that is not over TLS', () => {
    dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it("allows browser uploads only from the stage's origins and its console", () => {
    const consoleOrigin = (stack: typeof dev.stack) =>
      stack.resolve(stack.console?.origin ?? 'no console');
    dev.template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'],
            AllowedMethods: Match.arrayWith(['POST', 'PUT']),
            ExposedHeaders: ['ETag'],
          }),
          Match.objectLike({ AllowedOrigins: [consoleOrigin(dev.stack)] }),
        ],
      },
    });
    // prod names no origin of its own: its console's is the only one.
    const withCors = Object.values(prod.template.findResources('AWS::S3::Bucket')).filter(
      (bucket) => bucket.Properties.CorsConfiguration,
    );
    expect(withCors.map((b) => b.Properties.CorsConfiguration.CorsRules)).toEqual([
      [expect.objectContaining({ AllowedOrigins: [consoleOrigin(prod.stack)] })],
    ]);
  });

  it('retains data in prod and only destroys it in dev and local', () => {
    const policies = (t: Template, type: string) =>
      Object.values(t.findResources(type)).map((r) => r.DeletionPolicy);
    expect(new Set(policies(prod.template, 'AWS::S3::Bucket'))).toEqual(
      new Set(['RetainExceptOnCreate']),
    );
    expect(new Set(policies(prod.template, 'AWS::DynamoDB::Table'))).toEqual(
      new Set(['RetainExceptOnCreate']),
    );
    expect(policies(prod.template, 'AWS::RDS::DBCluster')).toEqual(['Snapshot']);
    expect(new Set(policies(dev.template, 'AWS::S3::Bucket'))).toEqual(new Set(['Delete']));
    prod.template.hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: true });
  });
});

const KINDS = ['image', 'tabular', 'logs', 'other', 'video'] as const;

/** Every IAM statement of the policies attached to one role. */
const statementsOf = (roleName: unknown) => {
  const role = dev.stack.resolve(roleName);
  return Object.values(dev.template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
};

describe('ingest', () => {
  it("routes Object Created events under each kind's prefix of our bucket to that kind's queue", () => {
    for (const kind of KINDS) {
      dev.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: {
            bucket: { name: [Match.anyValue()] },
            object: { key: [{ prefix: `uploads/${kind}/` }] },
          },
        },
        Targets: [
          Match.objectLike({
            Arn: dev.stack.resolve(dev.stack.ingest.routes[kind].queue.queueArn),
          }),
        ],
      });
    }
  });

  it('sends keys made before kinds to the other queue, and never what the pipeline writes', () => {
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        detail: {
          object: {
            key: [
              {
                'anything-but': {
                  prefix: [
                    'uploads/image/',
                    'uploads/tabular/',
                    'uploads/logs/',
                    'uploads/other/',
                    'uploads/video/',
                    'derived/',
                    'analytics/',
                  ],
                },
              },
            ],
          },
        },
      },
      Targets: [
        Match.objectLike({ Arn: dev.stack.resolve(dev.stack.ingest.routes.other.queue.queueArn) }),
      ],
    });
  });

  it("gives each kind's queue a visibility timeout six times its own function's timeout", () => {
    for (const kind of KINDS) {
      const queue = dev.stack.ingest.routes[kind].queue;
      const timeout = dev.stack.processing.processors[kind].timeout?.toSeconds();
      const [resource] = Object.values(
        dev.template.findResources('AWS::SQS::Queue', {
          Properties: { VisibilityTimeout: (timeout ?? 0) * 6 },
        }),
      );
      expect(resource, kind).toBeDefined();
      expect(dev.stack.resolve(queue.queueArn)).toBeDefined();
    }
    expect(dev.stack.processing.processors.tabular.timeout?.toSeconds()).toBe(900);
    expect(dev.stack.processing.processors.image.timeout?.toSeconds()).toBe(300);
  });

  it('parks a message in the DLQ after maxReceiveCount deliveries, with a visibility timeout above the processor timeout', () => {
    const queues = dev.template.findResources('AWS::SQS::Queue', {
      Properties: { RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) },
    });
    const [queue] = Object.values(queues);
    expect(queue).toBeDefined();
    expect(queue?.Properties.VisibilityTimeout).toBe(1800);
    expect(queue?.Properties.SqsManagedSseEnabled).toBe(true);
    dev.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: 300,
      Environment: { Variables: Match.objectLike({ MAX_RECEIVE_COUNT: '5' }) },
    });
  });
});

describe('processing', () => {
  it('reads the queue with batch item failures and a concurrency cap', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('runs every function on Node.js 24 with active tracing, arm64 in AWS and x86_64 locally', () => {
    const functions = Object.values(dev.template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    );
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const f of functions) {
      expect(f.Properties.Runtime).toBe('nodejs24.x');
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(f.Properties.Architectures).toEqual(['arm64']);
    }
    const localFunctions = Object.values(
      local.template.findResources('AWS::Lambda::Function'),
    ).filter((f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME);
    for (const f of localFunctions) expect(f.Properties.Architectures).toEqual(['x86_64']);
  });

  it("gives each kind's function its own memory, timeout, concurrency cap and scratch space", () => {
    const byService = (service: string) =>
      Object.values(dev.template.findResources('AWS::Lambda::Function')).find(
        (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
      );
    expect(byService('process-image')?.Properties).toMatchObject({
      MemorySize: 2048,
      Timeout: 300,
    });
    expect(byService('process-other')?.Properties).toMatchObject({ MemorySize: 512, Timeout: 300 });
    expect(byService('process-tabular')?.Properties).toMatchObject({
      MemorySize: 2048,
      Timeout: 900,
      EphemeralStorage: { Size: 10240 },
    });
    expect(byService('process-logs')?.Properties.Environment.Variables).toMatchObject({
      ANALYTICS_DATABASE: 'syncflow_dev',
      MAX_DECOMPRESSED_BYTES: String(6 * 1024 ** 3),
    });
    expect(byService('process-image')?.Properties.Environment.Variables.ANALYTICS_DATABASE).toBe(
      undefined,
    );
    for (const [kind, cap] of [
      ['image', 5],
      ['tabular', 2],
    ] as const) {
      dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: dev.stack.resolve(dev.stack.ingest.routes[kind].queue.queueArn),
        ScalingConfig: { MaximumConcurrency: cap },
      });
    }
  });

  it('lets the converters keep only their own kind of table in the stage database', () => {
    const statements = statementsOf(dev.stack.processing.processors.tabular.role?.roleName);
    const glue = statements.filter((s) =>
      [s.Action].flat().some((a: string) => a.startsWith('glue:')),
    );
    const text = JSON.stringify(glue);
    expect(text).toContain('table/syncflow_dev/ds_*');
    expect(text).not.toContain('logs_*');
    expect(
      JSON.stringify(statementsOf(dev.stack.processing.processors.image.role?.roleName)),
    ).not.toMatch(/glue:/);
  });

  it('lets the image function read uploads/, write only under derived/, and delete under both', () => {
    const { template } = dev;
    const processor = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'process-image',
    );
    const role = processor?.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: { Ref?: string }) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const objectResources = (action: RegExp) =>
      statements
        .filter((s) => [s.Action].flat().some((a: string) => action.test(a)))
        .flatMap((s) => [s.Resource].flat())
        .map((r) => JSON.stringify(r))
        .filter((r) => r.includes('/'));
    const writes = objectResources(/^s3:PutObject/);
    expect(writes.length).toBeGreaterThan(0);
    for (const resource of writes) expect(resource).toContain('/derived/*');
    // Versions nobody may be served go: re-sent forms under uploads/, a deleted file's all.
    const deletes = objectResources(/^s3:DeleteObject/).join(' ');
    expect(deletes).toContain('/uploads/*');
    expect(deletes).toContain('/derived/*');
  });

  it("moves log originals to a colder storage class after the stage's days, and nothing else", () => {
    // The emulator's CloudFormation drops a bucket's lifecycle rules: checked here, not end to end.
    const [bucket] = Object.values(
      prod.template.findResources('AWS::S3::Bucket', {
        Properties: { VersioningConfiguration: { Status: 'Enabled' } },
      }),
    );
    const rules = bucket?.Properties.LifecycleConfiguration.Rules as {
      Id: string;
      Prefix?: string;
      Transitions?: { StorageClass: string; TransitionInDays: number }[];
    }[];
    const archive = rules.filter((r) => r.Transitions);
    expect(archive).toEqual([
      expect.objectContaining({
        Id: 'archive-log-originals',
        Prefix: 'uploads/logs/',
        Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
      }),
    ]);
  });

  it('keeps idempotency records on demand with a TTL', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    });
  });
});

describe('metadata', () => {
  it('runs Aurora Serverless v2 with the Data API, encrypted, in isolated subnets and no NAT', () => {
    dev.template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2 },
    });
    dev.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    dev.template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    dev.template.hasResourceProperties('AWS::SecretsManager::Secret', Match.anyValue());
  });

  it('applies migrations during deploy through a custom resource that changes with the schema', () => {
    dev.template.hasResourceProperties('AWS::CloudFormation::CustomResource', {
      schemaHash: Match.stringLikeRegexp('^[0-9a-f]{64}$'),
    });
  });

  it('points the local stage at PostgreSQL instead of Aurora', () => {
    local.template.resourceCountIs('AWS::RDS::DBCluster', 0);
    local.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DATABASE_URL: Match.stringLikeRegexp('^postgres://') }),
      },
    });
  });
});

describe('api', () => {
  it('guards every route but /health with the token authorizer', () => {
    dev.template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'TOKEN' });
    dev.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'CUSTOM',
    });
    dev.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'NONE',
    });
    const methods = Object.values(dev.template.findResources('AWS::ApiGateway::Method')).map(
      (m) => m.Properties as { HttpMethod: string; AuthorizationType: string },
    );
    const routes = methods.filter((m) => m.HttpMethod !== 'OPTIONS');
    // POST /uploads, POST /uploads/batch, the four multipart routes, GET /files,
    // GET|DELETE /files/{fileId}, GET .../workflow, POST .../reprocess; GET /health.
    expect(routes.filter((m) => m.AuthorizationType === 'CUSTOM')).toHaveLength(11);
    expect(routes.filter((m) => m.AuthorizationType !== 'CUSTOM')).toEqual([
      expect.objectContaining({ HttpMethod: 'GET', AuthorizationType: 'NONE' }),
    ]);
    dev.template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'reprocess' });
    dev.template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    dev.template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
  });

  it("answers API Gateway's own errors with the contract's body, readable by the stage's origins", () => {
    dev.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp('"code":"UNAUTHORIZED"'),
      },
      // dev allows several origins: the first (its console's) is named, the caller's never echoed.
      ResponseParameters: {
        'gatewayresponse.header.Access-Control-Allow-Origin': {
          'Fn::Join': ['', ["'https://", Match.anyValue(), "'"]],
        },
        'gatewayresponse.header.Vary': "'Origin'",
      },
    });
    local.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.Access-Control-Allow-Origin': "'*'",
      }),
    });
    // /health answers from API Gateway itself (no function adds headers): the same origin is named.
    dev.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'NONE',
      Integration: Match.objectLike({
        Type: 'MOCK',
        IntegrationResponses: [
          Match.objectLike({
            ResponseParameters: {
              'method.response.header.Access-Control-Allow-Origin': {
                'Fn::Join': ['', ["'https://", Match.anyValue(), "'"]],
              },
              'method.response.header.Vary': "'Origin'",
            },
          }),
        ],
      }),
      MethodResponses: [
        {
          StatusCode: '200',
          ResponseParameters: {
            'method.response.header.Access-Control-Allow-Origin': true,
            'method.response.header.Vary': true,
          },
        },
      ],
    });
    // An unknown route is the project's 404 in its own words, never "Missing Authentication Token".
    dev.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '404',
      ResponseTemplates: {
        'application/json':
          '{"error":{"code":"NOT_FOUND","message":"No such route: check the method and the path"}}',
      },
    });
  });

  it('gives every API function the CORS origins, and parts only to multipart-api under uploads/', () => {
    for (const fn of [
      dev.stack.api.uploadApi,
      dev.stack.api.filesApi,
      dev.stack.api.fileActions,
      dev.stack.api.multipartApi,
    ]) {
      const env = dev.stack.resolve(
        (fn.node.defaultChild as { environment?: unknown }).environment,
      ) as {
        variables: Record<string, unknown>;
      };
      expect(JSON.stringify(env.variables.CORS_ORIGINS)).toMatch(/localhost:5173/);
    }
    const role = dev.stack.resolve(dev.stack.api.multipartApi.role?.roleName);
    const policies = JSON.stringify(
      Object.values(dev.template.findResources('AWS::IAM::Policy')).filter(
        (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]),
      ),
    );
    expect(policies).toMatch(/s3:ListMultipartUploadParts/);
    expect(policies).toMatch(/s3:AbortMultipartUpload/);
    expect(policies).toMatch(/uploads\/\*/);
    expect(policies).not.toMatch(/derived\//);
    expect(
      () =>
        stageConfig('dev') &&
        synth({ ...stageConfig('local'), multipartThresholdBytes: 6 * 1024 ** 3 }),
    ).toThrow(/5 GiB/);
  });

  it('serves exactly the routes docs/openapi.yaml documents', () => {
    const resources = dev.template.findResources('AWS::ApiGateway::Resource');
    const pathOf = (ref: unknown): string => {
      const id = (ref as { Ref?: string }).Ref;
      const resource = id ? resources[id] : undefined;
      if (!resource) return ''; // the root resource (Fn::GetAtt RootResourceId)
      const { PathPart, ParentId } = resource.Properties as { PathPart: string; ParentId: unknown };
      return `${pathOf(ParentId)}/${PathPart}`;
    };
    const routes = Object.values(dev.template.findResources('AWS::ApiGateway::Method'))
      .map((m) => m.Properties as { HttpMethod: string; ResourceId: unknown })
      .filter((m) => m.HttpMethod !== 'OPTIONS')
      .map((m) => `${m.HttpMethod} ${pathOf(m.ResourceId) || '/'}`);
    expect(routes.sort()).toEqual(documentedRoutes().sort());
  });

  it('lets the read routes only read; deleting and publishing are file-actions alone', () => {
    const policiesOf = (fn: { role?: { roleName: string } }) => {
      const role = dev.stack.resolve(fn.role?.roleName);
      return JSON.stringify(
        Object.values(dev.template.findResources('AWS::IAM::Policy')).filter(
          (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]),
        ),
      );
    };
    const reads = policiesOf(dev.stack.api.filesApi);
    expect(reads).toMatch(/s3:GetObject/);
    expect(reads).not.toMatch(/s3:DeleteObject|s3:PutObject|events:PutEvents/);
    const actions = policiesOf(dev.stack.api.fileActions);
    expect(actions).toMatch(/s3:DeleteObject/);
    expect(actions).toMatch(/events:PutEvents/);
  });

  it("lets the workflow API read the video machine's executions, and nothing else of Step Functions; the files API none", () => {
    const statementsOf = (fn: typeof dev.stack.api.filesApi) => {
      const name = dev.stack.resolve(fn.role?.roleName);
      return Object.values(dev.template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([name]))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    };
    expect(
      statementsOf(dev.stack.api.filesApi).filter((s) =>
        JSON.stringify(s.Action).includes('states:'),
      ),
    ).toEqual([]);
    const role = dev.stack.resolve(dev.stack.api.workflowApi.role?.roleName);
    const statements = Object.values(dev.template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    const states = statements.filter((s) => JSON.stringify(s.Action).includes('states:'));
    const machineArn = dev.stack.resolve(dev.stack.video.stateMachine.stateMachineArn);
    expect(states).toEqual([
      {
        Effect: 'Allow',
        Action: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        // arn:…:execution:<the machine's name>:*: its executions, not the machine, not another's.
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':states:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':execution:',
              // The name, the seventh field of arn:aws:states:region:account:stateMachine:Name.
              { 'Fn::Select': [6, { 'Fn::Split': [':', machineArn] }] },
              ':*',
            ],
          ],
        },
      },
    ]);
    const env = dev.stack.resolve(
      (dev.stack.api.workflowApi.node.defaultChild as { environment?: unknown }).environment,
    ) as { variables: Record<string, unknown> };
    expect(env.variables.STATE_MACHINE_ARN).toEqual(
      dev.stack.resolve(dev.stack.video.stateMachine.stateMachineArn),
    );
  });

  it("routes reprocess requests from the bus to their kind's queue; the files API sends to no queue", () => {
    for (const kind of ['image', 'tabular', 'logs', 'other'] as const) {
      const queue = dev.stack.resolve(dev.stack.ingest.routes[kind].queue.queueArn);
      dev.template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: dev.stack.resolve(dev.stack.events.bus.eventBusName),
        EventPattern: {
          source: ['syncflow.files'],
          'detail-type': ['file.reprocess-requested'],
          detail: { kind: [kind] },
        },
        Targets: [Match.objectLike({ Arn: queue })],
      });
    }
    const role = dev.stack.resolve(dev.stack.api.fileActions.role?.roleName);
    const policies = Object.values(dev.template.findResources('AWS::IAM::Policy')).filter(
      (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]),
    );
    expect(JSON.stringify(policies)).not.toMatch(/sqs:SendMessage/);
    expect(JSON.stringify(policies)).toMatch(/events:PutEvents/);
  });
});

describe('realtime', () => {
  it('authorizes $connect with the token authorizer and answers $disconnect and $default', () => {
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    const routes = Object.values(dev.template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties as { RouteKey: string; AuthorizationType?: string },
    );
    expect(routes.map((r) => [r.RouteKey, r.AuthorizationType ?? 'NONE']).sort()).toEqual([
      ['$connect', 'CUSTOM'],
      ['$default', 'NONE'],
      ['$disconnect', 'NONE'],
    ]);
  });

  it('keeps connections two hours at most, findable by user', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byOwner',
          KeySchema: [
            { AttributeName: 'ownerId', KeyType: 'HASH' },
            { AttributeName: 'connectionId', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it('feeds the notifier the starts and end states from the custom bus through a queue with a DLQ of its own', () => {
    const { realtime, events } = dev.stack;
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: dev.stack.resolve(events.bus.eventBusName),
      EventPattern: {
        source: ['syncflow.files'],
        'detail-type': [
          'file.processing',
          'file.processed',
          'file.failed',
          'file.rejected',
          'file.progress',
        ],
      },
      Targets: [
        Match.objectLike({
          Arn: dev.stack.resolve(realtime.queue.queueArn),
          DeadLetterConfig: { Arn: dev.stack.resolve(realtime.deadLetterQueue.queueArn) },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 8 }),
        }),
      ],
    });
    dev.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: dev.stack.resolve(realtime.deadLetterQueue.queueArn),
        maxReceiveCount: 5,
      },
    });
    dev.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: dev.stack.resolve(realtime.queue.queueArn),
      FunctionName: dev.stack.resolve(realtime.notifier.functionName),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    dev.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:ManageConnections' })]),
      },
    });
  });

  it('emails only where the stage names a sender identity', () => {
    expect(dev.stack.realtime.mailer).toBeUndefined();
    expect(local.stack.realtime.mailer).toBeDefined();
    local.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'notifications@syncflow.local',
    });
    local.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['file.failed', 'file.rejected'] },
      Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 8 }) })],
    });
    local.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
    });
    const withSender = synth(stageConfig('dev', { notificationSender: 'ops@example.com' }));
    expect(withSender.stack.realtime.mailer).toBeDefined();
    expect(() => stageConfig('dev', { notificationSender: 'not an address' })).toThrow(/email/);
  });
});

describe('observability', () => {
  const alarms = (template: Template) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) =>
        a.Properties as {
          MetricName?: string;
          Namespace?: string;
          Statistic?: string;
          Threshold: number;
          Metrics?: { Expression?: string }[];
          AlarmActions: unknown[];
          AlarmDescription: string;
        },
    );

  it('raises an alarm on the SNS topic for any dead letter, an old backlog, error rates, a failing sweeper and notifier failures', () => {
    const found = alarms(prod.template);
    const byDescription = (pattern: RegExp) =>
      found.filter((a) => pattern.test(a.AlarmDescription));
    // One per DLQ: each kind's ingest, notifications (prod names no mail sender, so no mail DLQ).
    const deadLetters = found.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(deadLetters.map((a) => a.Threshold)).toEqual([1, 1, 1, 1, 1, 1]);
    for (const kind of KINDS) {
      expect(byDescription(new RegExp(`oldest ${kind} upload`))).toEqual([
        expect.objectContaining({ MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 600 }),
      ]);
      const errors = byDescription(new RegExp(`${kind} function's invocations failed`));
      expect(errors[0]?.Threshold).toBe(5);
      expect(JSON.stringify(errors[0]?.Metrics)).toContain(
        `100 * errors_${kind} / MAX([invocations_${kind}, 1])`,
      );
    }
    expect(byDescription(/5xx/)).toEqual([
      expect.objectContaining({ MetricName: '5XXError', Statistic: 'Average', Threshold: 0.01 }),
    ]);
    expect(byDescription(/notifier/)).toEqual([
      expect.objectContaining({
        MetricName: 'NotificationsFailed',
        Namespace: 'SyncFlow',
        Threshold: 1,
      }),
    ]);
    // Bytes that reached a file without S3's checksum to compare: someone is told.
    expect(byDescription(/without a CRC64NVME/)).toEqual([
      expect.objectContaining({
        MetricName: 'MultipartChecksumsUnverified',
        Namespace: 'SyncFlow',
        Dimensions: [{ Name: 'service', Value: 'multipart-api' }],
        Threshold: 1,
      }),
    ]);
    // A sweeper that keeps failing leaves stuck files unended: that wakes someone too.
    expect(byDescription(/sweeper failed/)).toEqual([
      expect.objectContaining({ MetricName: 'Errors', Period: 900, Threshold: 2 }),
    ]);
    const topic = prod.stack.resolve(prod.stack.observability.topic.topicArn);
    for (const alarm of found) expect(alarm.AlarmActions).toEqual([topic]);
    const localAlarms = alarms(local.template);
    expect(
      localAlarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible'),
    ).toHaveLength(7);
    // The emulator refuses metric math: the local stage alarms on the error count.
    expect(localAlarms.filter((a) => a.Metrics !== undefined)).toEqual([]);
    expect(
      localAlarms.find((a) => /tabular function invocations/.test(a.AlarmDescription)),
    ).toMatchObject({ MetricName: 'Errors', Threshold: 5 });
  });

  it('emails the alarm topic only when the stage names an address', () => {
    prod.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const withEmail = synth(stageConfig('prod', { alarmEmail: 'oncall@example.com' }));
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    expect(() => stageConfig('prod', { alarmEmail: 'oncall' })).toThrow(/email/);
  });

  it('draws every figure the runbook names on one dashboard', () => {
    const [dashboard] = Object.values(prod.template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(prod.stack.resolve(dashboard?.Properties.DashboardBody));
    for (const figure of [
      'UploadsRequested',
      'FilesProcessed',
      'FilesFailed',
      'FilesRejected',
      'BytesProcessed',
      'EndToEndLatency',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
      'Duration',
      'Errors',
      'Throttles',
      '4XXError',
      '5XXError',
      'Latency',
      'ConnectCount',
      'NotificationsSent',
      'ServerlessDatabaseCapacity',
    ]) {
      expect(body, figure).toContain(figure);
    }
    // Every function's duration is drawn.
    expect(
      body.match(/\\"Duration\\"/g)?.length ?? body.match(/"Duration"/g)?.length,
    ).toBeGreaterThanOrEqual(8);
  });

  it('traces every function and the REST stage, and keeps logs as long as the stage says', () => {
    for (const { template, days } of [
      { template: dev.template, days: 14 },
      { template: prod.template, days: 90 },
      { template: local.template, days: 1 },
    ]) {
      // Ours: every SyncFlowFunction names its service for Powertools (CDK's own helpers do not).
      const fns = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
        ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME !== undefined,
      );
      expect(fns.length).toBeGreaterThanOrEqual(8);
      for (const [id, fn] of fns) {
        expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      }
      template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
      const groups = Object.entries(template.findResources('AWS::Logs::LogGroup'));
      expect(groups.length).toBeGreaterThanOrEqual(fns.length);
      for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toBe(days);
    }
  });
});

describe('a first deploy into a fresh account', () => {
  const logicalIdOf = (template: Template, type: string): string => {
    const ids = Object.keys(template.findResources(type));
    expect(ids, type).toHaveLength(1);
    return ids[0] as string;
  };
  const dependsOn = (template: Template, type: string): string[] =>
    Object.values(template.findResources(type)).flatMap((r) => r.DependsOn ?? []);

  it("makes both API stages wait for API Gateway's account CloudWatch role", () => {
    for (const { template } of [dev, prod]) {
      const account = logicalIdOf(template, 'AWS::ApiGateway::Account');
      expect(dependsOn(template, 'AWS::ApiGateway::Stage')).toContain(account);
      expect(dependsOn(template, 'AWS::ApiGatewayV2::Stage')).toContain(account);
    }
  });

  it('runs the migrations only once the writer instance exists, on a version chosen on purpose', () => {
    for (const { template } of [dev, prod]) {
      const writer = logicalIdOf(template, 'AWS::RDS::DBInstance');
      expect(dependsOn(template, 'AWS::CloudFormation::CustomResource')).toContain(writer);
      template.hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: '17.7' });
    }
  });

  it('keeps no resource from a rolled-back first deploy but the API Gateway logging role', () => {
    // RetainExceptOnCreate: kept on update and delete, removed when the create rolls back, so a
    // retry never meets a leftover with the same name (the bus's name is fixed at synth).
    const resources = Object.entries(prod.template.toJSON().Resources) as [
      string,
      { Type: string; DeletionPolicy?: string; Properties?: Record<string, unknown> },
    ][];
    const retained = resources.filter(([, r]) => r.DeletionPolicy === 'Retain');
    // CDK keeps API Gateway's account role on purpose: other stacks' logs may depend on it.
    expect(new Set(retained.map(([, r]) => r.Type))).toEqual(
      new Set(['AWS::IAM::Role', 'AWS::ApiGateway::Account']),
    );
    for (const [id, r] of retained) {
      const names = Object.keys(r.Properties ?? {}).filter((key) => /Name$/.test(key));
      expect(names, id).toEqual([]);
    }
    const keptExceptOnCreate = resources.filter(
      ([, r]) => r.DeletionPolicy === 'RetainExceptOnCreate',
    );
    expect(keptExceptOnCreate.map(([, r]) => r.Type)).toEqual(
      expect.arrayContaining([
        'AWS::Events::EventBus',
        'AWS::S3::Bucket',
        'AWS::DynamoDB::Table',
        'AWS::Cognito::UserPool',
        'AWS::Logs::LogGroup',
      ]),
    );
  });

  it('lets CloudWatch alarms of this account publish to the alarm topic, over TLS only', () => {
    prod.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            }),
          }),
        ]),
      },
    });
  });

  it('synthesises with a known account and region without looking anything up', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new SyncFlowStack(app, 'SyncFlow-prod', {
      stage: stageConfig('prod'),
      env: { account: '123456789012', region: 'us-east-1' },
    });
    expect(app.synth().manifest.missing ?? []).toEqual([]);
  });

  it('uses an SES identity that exists when told to, instead of creating a second one', () => {
    const existing = synth(
      stageConfig('dev', {
        notificationSender: 'ops@example.com',
        notificationSenderIdentity: 'existing',
      }),
    );
    existing.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    expect(JSON.stringify(existing.template.toJSON())).toMatch(/identity\/ops@example\.com/);
    expect(() => stageConfig('dev', { notificationSenderIdentity: 'maybe' })).toThrow(/existing/);
  });
});

describe('the Data API double stages', () => {
  it('gives the local stage the AWS driver against the double when asked', () => {
    const onDouble = synth(
      stageConfig('local', { dataApiEndpoint: 'http://127.0.0.1:4321', dataApiDatabase: 'e2e' }),
    );
    const ours = Object.values(onDouble.template.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.Environment?.Variables ?? {})
      .filter(
        (v) => v.POWERTOOLS_SERVICE_NAME === 'migrate' || v.POWERTOOLS_SERVICE_NAME === 'files-api',
      );
    expect(ours).toHaveLength(2);
    for (const variables of ours) {
      expect(variables).toMatchObject({
        DB_CLUSTER_ARN: expect.stringMatching(/^arn:aws:rds:/),
        DB_SECRET_ARN: expect.stringMatching(/^arn:aws:secretsmanager:/),
        DB_NAME: 'e2e',
        AWS_ENDPOINT_URL_RDS_DATA: 'http://127.0.0.1:4321',
      });
      expect(variables).not.toHaveProperty('DATABASE_URL');
    }
    expect(() => stageConfig('local', { dataApiEndpoint: 'not a url' })).toThrow(/http/);
  });

  it('rehearses prod with only the differences the emulator needs', () => {
    const prodConfig = stageConfig('prod') as unknown as Record<string, unknown>;
    const rehearsal = stageConfig('prod-rehearsal', {
      dataApiEndpoint: 'http://127.0.0.1:4321',
    }) as unknown as Record<string, unknown>;
    const differing = Object.keys({ ...prodConfig, ...rehearsal }).filter(
      (key) => JSON.stringify(prodConfig[key]) !== JSON.stringify(rehearsal[key]),
    );
    expect(differing.sort()).toEqual(
      [
        'architecture',
        'consoleAssets',
        'database',
        'databaseLogExports',
        'emulatorEndpoint',
        'eventArchiveDays',
        'keysEndpoint',
        'metricMathAlarms',
        'name',
        'video',
        'vpcFlowLogs',
      ].sort(),
    );
    // The console is hosted as in prod; only its files are not copied in.
    expect(rehearsal.consoleHosting).toBe(true);
    // Within video, only the job template the emulator's CloudFormation does not know.
    expect(rehearsal.video).toEqual({
      ...(prodConfig.video as object),
      mediaConvertJobTemplate: false,
    });
    expect(rehearsal.database).toEqual({
      ...(prodConfig.database as object),
      dataApiEndpoint: 'http://127.0.0.1:4321',
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['dev', dev],
    ['prod', prod],
    ['local', local],
  ])('reports no errors on %s', (_name, { stack }) => {
    const errors = Annotations.fromStack(stack).findError(
      '*',
      Match.stringLikeRegexp('AwsSolutions-.*'),
    );
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).split('\n')[0]}`)).toEqual([]);
  });
});

describe('stages', () => {
  it('refuses an unknown stage and a database URL for an Aurora stage', () => {
    expect(() => stageConfig('qa')).toThrow(/Unknown stage "qa"/);
    expect(() => stageConfig('prod', { databaseUrl: 'postgres://x' })).toThrow(/uses Aurora/);
  });

  /** Node.js's source-map support parses the map at every cold start: it is opt-in. */
  it('turns source maps on only when asked', () => {
    const functionEnvironments = (template: Template) =>
      Object.values(template.findResources('AWS::Lambda::Function')).map(
        (fn) => fn.Properties?.Environment?.Variables ?? {},
      );
    for (const { template } of [dev, prod, local]) {
      const environments = functionEnvironments(template);
      expect(environments.length).toBeGreaterThan(5);
      for (const variables of environments) expect(variables).not.toHaveProperty('NODE_OPTIONS');
    }
    const withMaps = synth(stageConfig('prod', { sourceMaps: 'true' }));
    const ours = functionEnvironments(withMaps.template).filter(
      (variables) => 'POWERTOOLS_SERVICE_NAME' in variables,
    );
    expect(ours.length).toBeGreaterThan(5);
    for (const variables of ours) {
      expect(variables).toHaveProperty('NODE_OPTIONS', '--enable-source-maps');
    }
    expect(stageConfig('dev', { sourceMaps: 'false' }).sourceMaps).toBe(false);
    expect(() => stageConfig('dev', { sourceMaps: 'yes' })).toThrow(/true or false/);
  });
});

/** Every function of ours (Powertools-configured), with its environment, role and policies. */
const ourFunctions = (stack: SyncFlowStack, template: Template) =>
  Object.entries(template.findResources('AWS::Lambda::Function'))
    .filter(([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
    .map(([id, f]) => {
      const role = f.Properties.Role['Fn::GetAtt'][0] as string;
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
        p.Properties.Roles.some((r: { Ref?: string }) => r.Ref === role),
      );
      return {
        id,
        service: f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as string,
        env: f.Properties.Environment.Variables as Record<string, unknown>,
        statements: policies.flatMap((p) => p.Properties.PolicyDocument.Statement) as {
          Action: string | string[];
          Resource: unknown;
        }[],
        stack,
      };
    });

describe('integrity under misuse', () => {
  it('takes a file as soon as it is queued: no batching window', () => {
    const mappings = Object.values(dev.template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings.length).toBeGreaterThan(0);
    for (const mapping of mappings) {
      expect(mapping.Properties.MaximumBatchingWindowInSeconds ?? 0).toBe(0);
    }
  });

  it("gives each kind's function one file an invocation, so a file that kills its process takes no other with it", () => {
    const processors = ourFunctions(dev.stack, dev.template).filter((fn) =>
      fn.service.startsWith('process-'),
    );
    expect(processors.length).toBeGreaterThanOrEqual(4);
    const mappings = dev.template.findResources('AWS::Lambda::EventSourceMapping');
    for (const fn of processors) {
      const own = Object.values(mappings).filter((m) =>
        JSON.stringify(m.Properties.FunctionName).includes(fn.id),
      );
      expect(own, fn.service).toHaveLength(1);
      expect(own[0]?.Properties.BatchSize, fn.service).toBe(1);
    }
  });

  it('keeps reprocess requests, which are work orders, out of the event archive', () => {
    prod.template.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: {
        source: ['syncflow.files'],
        'detail-type': [
          { 'anything-but': ['file.reprocess-requested', 'file.processing', 'file.progress'] },
        ],
      },
    });
  });

  it('keeps every response out of traces (presigned forms and download URLs)', () => {
    for (const fn of ourFunctions(dev.stack, dev.template)) {
      expect(fn.env.POWERTOOLS_TRACER_CAPTURE_RESPONSE, fn.service).toBe('false');
    }
  });

  it("gives the admin secret to the migrator alone, and each function its own role's secret", () => {
    const secrets = Object.keys(prod.template.findResources('AWS::SecretsManager::Secret'));
    const admin = secrets.find((id) => id.includes('MetadataClusterSecret'));
    const reader = secrets.find((id) => id.startsWith('MetadataReaderSecret'));
    const writer = secrets.find((id) => id.startsWith('MetadataWriterSecret'));
    expect([admin, reader, writer].every(Boolean)).toBe(true);
    // The cluster's secret is reached through its attachment to the cluster.
    const attachments = Object.entries(
      prod.template.findResources('AWS::SecretsManager::SecretTargetAttachment'),
    )
      .filter(([, a]) => JSON.stringify(a.Properties.SecretId).includes(`"${admin}"`))
      .map(([id]) => id);
    const readsSecret = (fn: ReturnType<typeof ourFunctions>[number], secret?: string) =>
      fn.statements.some(
        (st) =>
          [st.Action].flat().includes('secretsmanager:GetSecretValue') &&
          [secret, ...(secret === admin ? attachments : [])].some((id) =>
            JSON.stringify(st.Resource).includes(`"${id}"`),
          ),
      );
    const functions = ourFunctions(prod.stack, prod.template);
    const byService = (name: string) => functions.find((fn) => fn.service === name);
    for (const fn of functions) {
      expect(readsSecret(fn, admin), fn.service).toBe(fn.service === 'migrate');
    }
    const filesApi = byService('files-api');
    expect(filesApi && readsSecret(filesApi, reader)).toBe(true);
    expect(filesApi && readsSecret(filesApi, writer)).toBe(false);
    expect(JSON.stringify(filesApi?.env.DB_SECRET_ARN)).toContain(reader);
    for (const service of [
      'upload-api',
      'file-actions',
      'process-image',
      'process-logs',
      'sweeper',
    ]) {
      const fn = byService(service);
      expect(fn && readsSecret(fn, writer), service).toBe(true);
      expect(fn && readsSecret(fn, reader), service).toBe(false);
      expect(JSON.stringify(fn?.env.DB_SECRET_ARN), service).toContain(writer);
    }
    // Locally, each function logs in to PostgreSQL as its role, the migrator as the admin.
    const localFunctions = ourFunctions(local.stack, local.template);
    const userOf = (service: string) => {
      const fn = localFunctions.find((f) => f.service === service);
      return new URL(String(fn?.env.DATABASE_URL)).username;
    };
    expect(userOf('files-api')).toBe('syncflow_read');
    expect(userOf('process-image')).toBe('syncflow_write');
    expect(userOf('process-tabular')).toBe('syncflow_write');
    expect(userOf('migrate')).toBe('postgres');
  });

  it("ends stuck files on a schedule, with the stage's clock, and closes expired connections", () => {
    const sweeper = ourFunctions(dev.stack, dev.template).find((fn) => fn.service === 'sweeper');
    // The stage-wide clock is the slowest kind's; each kind's own is judged by it.
    expect(sweeper?.env).toMatchObject({
      PROCESSOR_TIMEOUT_SECONDS: '900',
      INGEST_VISIBILITY_TIMEOUT_SECONDS: '5400',
      MAX_RECEIVE_COUNT: '5',
      INGEST_RETENTION_SECONDS: '345600',
      SWEEP_GRACE_SECONDS: '300',
    });
    expect(JSON.parse(String(sweeper?.env.KIND_CLOCKS))).toEqual({
      image: { processorTimeoutSeconds: 300, visibilityTimeoutSeconds: 1800 },
      tabular: { processorTimeoutSeconds: 900, visibilityTimeoutSeconds: 5400 },
      logs: { processorTimeoutSeconds: 900, visibilityTimeoutSeconds: 5400 },
      other: { processorTimeoutSeconds: 300, visibilityTimeoutSeconds: 1800 },
      video: { processorTimeoutSeconds: 900, visibilityTimeoutSeconds: 5400 },
    });
    const scheduled = (template: Template) =>
      Object.values(template.findResources('AWS::Events::Rule'))
        .filter((r) => r.Properties.ScheduleExpression)
        .map((r) => r.Properties.ScheduleExpression as string);
    expect(scheduled(dev.template)).toEqual(['rate(5 minutes)', 'rate(5 minutes)']);
    expect(scheduled(local.template)).toEqual(['rate(1 minute)', 'rate(1 minute)']);
  });

  it("limits each user's requests per stage, looser where one machine bulk-uploads", () => {
    const envOf = (template: Template, service: string) =>
      ourFunctions(dev.stack, template).find((fn) => fn.service === service)?.env;
    expect(envOf(prod.template, 'upload-api')).toMatchObject({
      UPLOADS_PER_MINUTE: '600',
      MAX_PENDING_UPLOADS: '1000',
    });
    expect(envOf(prod.template, 'file-actions')).toMatchObject({ REPROCESS_PER_MINUTE: '60' });
    expect(envOf(local.template, 'upload-api')).toMatchObject({ UPLOADS_PER_MINUTE: '6000' });
  });

  it("hands videos to the video state machine, claiming them for the machine's timeout", () => {
    for (const [{ stack, template }, minutes] of [
      [prod, 180 + 30],
      [local, 15 + 30],
    ] as const) {
      const video = ourFunctions(stack, template).find((fn) => fn.service === 'process-video');
      const machine = stack.resolve(stack.video.stateMachine.stateMachineArn);
      expect(video?.env).toMatchObject({
        STATE_MACHINE_ARN: machine,
        VIDEO_WORKFLOW_TIMEOUT_SECONDS: String(minutes * 60),
      });
      // It may start executions of that machine, and of no other.
      const starts = (video?.statements ?? []).filter((st) =>
        [st.Action].flat().includes('states:StartExecution'),
      );
      expect(starts.map((st) => st.Resource)).toEqual([machine]);
    }
    const outputs = prod.template.toJSON().Outputs;
    expect(outputs.VideoStateMachineArn.Value).toEqual(
      prod.stack.resolve(prod.stack.video.stateMachine.stateMachineArn),
    );
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'VideoQueueUrl',
        'VideoDeadLetterQueueUrl',
        'VideoProcessorFunctionName',
      ]),
    );
    // prod registers MediaConvert's job template (its rehearsal does not: the stage test above).
    expect(Object.keys(prod.template.findResources('AWS::MediaConvert::JobTemplate'))).toHaveLength(
      1,
    );
  });

  it('injects faults only on the local stage, and refuses them on any other', () => {
    const withFaults = (template: Template, stack: SyncFlowStack) =>
      ourFunctions(stack, template).filter((fn) => 'SYNCFLOW_FAULT_INJECTION' in fn.env);
    expect(withFaults(dev.template, dev.stack)).toEqual([]);
    expect(withFaults(prod.template, prod.stack)).toEqual([]);
    expect(
      withFaults(local.template, local.stack)
        .map((fn) => fn.service)
        .sort(),
    ).toEqual([
      'process-image',
      'process-logs',
      'process-other',
      'process-tabular',
      'process-video',
    ]);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () =>
        new SyncFlowStack(app, 'SyncFlow-prod', {
          stage: { ...stageConfig('prod'), faultInjection: true },
        }),
    ).toThrow(/only a stage deployed into an emulator may/);
    // The soak's crashes (fault-crash-once) ride on the same switch: no AWS stage has it.
    expect(
      Object.entries(STAGES)
        .filter(([, stage]) => stage.faultInjection)
        .map(([name]) => name),
    ).toEqual(['local']);
  });

  it('mails once per file and outcome: the mailer keeps what it sent', () => {
    const mailer = ourFunctions(dev.stack, local.template).find((fn) => fn.service === 'mailer');
    expect(mailer?.env.IDEMPOTENCY_TABLE_NAME).toBeDefined();
    expect(JSON.stringify(mailer?.statements)).toMatch(/dynamodb:PutItem/);
  });
});

describe('cdk-nag suppressions', () => {
  /** Every suppression cdk-nag reads from the template's metadata. */
  const suppressions = (template: Template) =>
    [
      ...Object.values(template.toJSON().Resources as Record<string, { Metadata?: unknown }>),
      template.toJSON(),
    ].flatMap(
      (r) =>
        ((r.Metadata as { cdk_nag?: { rules_to_suppress?: unknown[] } } | undefined)?.cdk_nag
          ?.rules_to_suppress ?? []) as { id: string; applies_to?: unknown[] }[],
    );

  it.each([
    ['dev', dev],
    ['prod', prod],
    ['local', local],
  ])('name what each IAM finding they hide applies to, on %s', (_name, { template }) => {
    const iam = suppressions(template).filter((s) => /^AwsSolutions-IAM[45]$/.test(s.id));
    expect(iam.length).toBeGreaterThan(0);
    for (const suppression of iam)
      expect(suppression.applies_to?.length, suppression.id).toBeGreaterThan(0);
  });

  it('allow "*" as a resource only for X-Ray, which has no resource ARNs', () => {
    for (const { template } of [dev, prod, local]) {
      const onEverything = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(
        ([id, policy]) =>
          (policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
            .filter((st) => [st.Resource].flat().includes('*'))
            .flatMap((st) => [st.Action].flat().map((action) => `${id}: ${String(action)}`)),
      );
      const unexpected = onEverything.filter(
        (entry) =>
          !/: xray:/.test(entry) &&
          // CDK's own log-retention function (the database's log group) sets retention on "*".
          !/^LogRetention[0-9a-f]+ServiceRole.*: logs:(Put|Delete)RetentionPolicy$/.test(entry) &&
          // MediaConvert's jobs and Step Functions' log delivery take no narrower resource: the
          // video state machine's role (infra/constructs/video-workflow.ts).
          !/^VideoStateMachineRoleDefaultPolicy[0-9A-F]+: mediaconvert:(CreateJob|GetJob|CancelJob)$/.test(
            entry,
          ) &&
          !/^VideoStateMachineRoleDefaultPolicy[0-9A-F]+: logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/.test(
            entry,
          ) &&
          // CDK's BucketDeployment invalidates the console's distribution, on "*".
          !/^CustomCDKBucketDeployment[0-9A-F]+ServiceRole.*: cloudfront:(Create|Get)Invalidation$/.test(
            entry,
          ),
      );
      expect(unexpected).toEqual([]);
    }
  });
});

describe('web console hosting', () => {
  it('serves the console from a private bucket through CloudFront with origin access control', () => {
    dev.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
      }),
    });
    dev.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
      }),
    });
    const site = dev.stack.resolve(dev.stack.console?.bucket.bucketName);
    dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: site,
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
          }),
        ]),
      },
    });
    expect(dev.template.toJSON().Outputs.ConsoleUrl).toBeDefined();
  });

  it('sends a strict Content-Security-Policy without inline script, and HSTS', () => {
    const policies = Object.values(
      dev.template.findResources('AWS::CloudFront::ResponseHeadersPolicy'),
    );
    expect(policies).toHaveLength(1);
    const config = policies[0]?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = JSON.stringify(config.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self';/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    // A video's rendition plays from the bucket's URLs, as thumbnails show from them.
    expect(csp).toMatch(/media-src 'self' https:\/\/[^;]*s3/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toMatch(/execute-api/);
    expect(config.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 31536000,
      Override: true,
    });
  });

  it('writes config.json at deploy and hosts nothing in the local stage', () => {
    expect(JSON.stringify(dev.template.findResources('Custom::CDKBucketDeployment'))).toMatch(
      /config\.json|SourceMarkers/,
    );
    expect(Object.keys(local.template.findResources('AWS::CloudFront::Distribution'))).toEqual([]);
    expect(local.template.toJSON().Outputs.ConsoleUrl).toBeUndefined();
  });
});
