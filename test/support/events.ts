import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context, SQSRecord } from 'aws-lambda';

export const lambdaContext = (functionName = 'test', remainingMs = 60_000): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => remainingMs,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

/**
 * An S3 "Object Created" event as EventBridge delivers it to the ingest queue; `versionId` null
 * leaves `version-id` out, as the emulator's events do.
 */
export const objectCreatedEvent = (
  bucket: string,
  key: string,
  size: number,
  versionId: string | null = 'v1',
  etag = 'd41d8cd98f00b204e9800998ecf8427e',
) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: [`arn:aws:s3:::${bucket}`],
  detail: {
    version: '0',
    bucket: { name: bucket },
    object: {
      key,
      size,
      etag,
      ...(versionId !== null && { 'version-id': versionId }),
      sequencer: '0',
    },
    'request-id': 'REQ',
    requester: '123456789012',
    'source-ip-address': '127.0.0.1',
    reason: 'PutObject',
  },
});

export const sqsRecord = (body: unknown, receiveCount = 1): SQSRecord => ({
  messageId: randomUUID(),
  receiptHandle: 'handle',
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: String(Date.now()),
    SenderId: 'sender',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ingest',
  awsRegion: 'eu-west-1',
});

export const apiEvent = (input: {
  method: string;
  path: string;
  body?: string | null;
  ownerId?: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** API Gateway's resource path; by default the path with each path parameter put back as `{name}`. */
  resource?: string;
}): APIGatewayProxyEvent =>
  ({
    httpMethod: input.method,
    path: input.path,
    resource:
      input.resource ??
      Object.entries(input.pathParameters ?? {}).reduce(
        (path, [name, value]) => path.replace(value, `{${name}}`),
        input.path,
      ),
    body: input.body ?? null,
    isBase64Encoded: false,
    headers: { 'content-type': 'application/json', ...input.headers },
    multiValueHeaders: {},
    pathParameters: input.pathParameters ?? null,
    queryStringParameters: input.query ?? null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      requestId: randomUUID(),
      authorizer: input.ownerId ? { ownerId: input.ownerId, principalId: input.ownerId } : null,
    },
  }) as unknown as APIGatewayProxyEvent;
