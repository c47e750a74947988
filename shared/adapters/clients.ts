import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from '../observability/powertools.ts';

/**
 * SDK clients, made once per process on first use and captured by the tracer so every call
 * shows in X-Ray. They are made lazily so that a function bundles and loads only the clients it
 * calls. AWS_ENDPOINT_URL (the local stage) points them at the emulator; S3 then needs
 * path-style addressing, since the emulator has no per-bucket host names.
 */
const once = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

// Marked pure so that a bundle leaves out every client its function never asks for.
export const s3Client = /* @__PURE__ */ once(() =>
  tracer.captureAWSv3Client(
    new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }),
  ),
);
/**
 * S3 for multipart uploads: `WHEN_REQUIRED` keeps the SDK from baking the checksum of an empty
 * body into presigned part URLs (S3 would then refuse every part a browser sends).
 */
export const multipartS3Client = /* @__PURE__ */ once(() =>
  tracer.captureAWSv3Client(
    new S3Client({
      forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  ),
);
export const eventBridgeClient = /* @__PURE__ */ once(() =>
  tracer.captureAWSv3Client(new EventBridgeClient({})),
);
export const dynamoDbClient = /* @__PURE__ */ once(() =>
  tracer.captureAWSv3Client(new DynamoDBClient({})),
);
export const glueClient = /* @__PURE__ */ once(() => tracer.captureAWSv3Client(new GlueClient({})));
export const sqsClient = /* @__PURE__ */ once(() => tracer.captureAWSv3Client(new SQSClient({})));
export const sfnClient = /* @__PURE__ */ once(() => tracer.captureAWSv3Client(new SFNClient({})));
export const sesClient = /* @__PURE__ */ once(() => tracer.captureAWSv3Client(new SESv2Client({})));
export const cognitoClient = /* @__PURE__ */ once(() =>
  tracer.captureAWSv3Client(new CognitoIdentityProviderClient({})),
);
/** API Gateway's @connections API of one WebSocket stage, at the URL the stack gives. */
export const webSocketManagementClient = /* @__PURE__ */ once(() =>
  tracer.captureAWSv3Client(
    new ApiGatewayManagementApiClient({ endpoint: process.env.WEBSOCKET_MANAGEMENT_URL }),
  ),
);
