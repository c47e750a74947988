import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { type ObjectRef, objectVersionOf } from '../domain/object-ref.ts';
import { REPROCESS_MESSAGE_TYPE, REPROCESS_REQUESTED } from '../domain/reprocess.ts';

/**
 * What the processor's idempotency key is made of: one key per object version, so that every
 * replay of an S3 event is stopped. An explicit reprocess adds its request id to the version,
 * which lets it through once, while duplicate deliveries of that same request are still stopped.
 */
export interface IngestWork extends ObjectRef {
  readonly version: string;
  readonly reprocessId?: string;
  /** When S3 reported the object created (the event's `time`), for the end-to-end latency. */
  readonly createdAt?: string;
}

const optionalString = (value: unknown, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new Error(`${name} must be a string`);
  return value;
};

const requiredString = (value: unknown, name: string): string => {
  const text = optionalString(value, name);
  if (text === undefined) throw new Error(`${name} is missing`);
  return text;
};

const parseReprocess = (body: Record<string, unknown>): IngestWork => {
  const reprocessId = requiredString(body.reprocessId, 'reprocessId');
  const versionId = optionalString(body.versionId, 'versionId');
  const etag = optionalString(body.etag, 'etag');
  const ref: ObjectRef = {
    bucket: requiredString(body.bucket, 'bucket'),
    key: requiredString(body.key, 'key'),
    ...(versionId && { versionId }),
    ...(etag && { etag }),
  };
  return { ...ref, reprocessId, version: `${objectVersionOf(ref)}#reprocess:${reprocessId}` };
};

/**
 * The work an ingest message asks for: an S3 "Object Created" event as EventBridge delivers it,
 * or a reprocess request (the `file.reprocess-requested` bus event, or its detail alone). Throws on anything else; such a message is retried, then parked in
 * the DLQ.
 */
export const parseIngestMessage = (body: string): IngestWork => {
  let parsed: unknown = JSON.parse(body);
  // A reprocess request arrives as the bus event that carries it.
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    (parsed as Record<string, unknown>)['detail-type'] === REPROCESS_REQUESTED
  ) {
    parsed = (parsed as { detail?: unknown }).detail;
  }
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    (parsed as Record<string, unknown>).type === REPROCESS_MESSAGE_TYPE
  ) {
    return parseReprocess(parsed as Record<string, unknown>);
  }
  const event = S3EventNotificationEventBridgeSchema.parse(parsed);
  const ref: ObjectRef = {
    bucket: event.detail.bucket.name,
    key: event.detail.object.key,
    ...(event.detail.object['version-id'] && { versionId: event.detail.object['version-id'] }),
    ...(event.detail.object.etag && { etag: event.detail.object.etag }),
  };
  return { ...ref, version: objectVersionOf(ref), createdAt: event.time };
};
