import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { tracer } from '../observability/powertools.ts';

/**
 * SDK clients, one per process, captured by the tracer so every call shows in X-Ray.
 * AWS_ENDPOINT_URL (set by the local stage) points them at the emulator; S3 then needs
 * path-style addressing, since the emulator has no per-bucket host names.
 */
const local = Boolean(process.env.AWS_ENDPOINT_URL);

export const s3Client = tracer.captureAWSv3Client(new S3Client({ forcePathStyle: local }));
export const eventBridgeClient = tracer.captureAWSv3Client(new EventBridgeClient({}));
export const dynamoDbClient = tracer.captureAWSv3Client(new DynamoDBClient({}));
