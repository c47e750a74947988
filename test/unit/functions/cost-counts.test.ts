import { Readable } from 'node:stream';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import { expect, it, vi } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { MEASURED, PUSHES_PER_FILE } from '../../../scripts/lib/cost-model.ts';
import { apiEvent, lambdaContext, objectCreatedEvent, sqsRecord } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

/**
 * The calls per file the cost model (scripts/lib/cost-model.ts, docs/cost.md) counts, taken
 * from the real handlers: POST /uploads and an image's processor run on the photo of
 * `npm run bench -- pipeline-jpeg-12mp`, over PGlite, with the AWS clients recording. A change
 * of the code that makes a file cost more calls fails here until the model says so.
 */
stubFunctionEnv({
  BUCKET_NAME: 'uploads-bucket',
  MAX_UPLOAD_BYTES: String(64 * 1024 ** 2),
  UPLOAD_URL_TTL_SECONDS: '900',
  UPLOADS_PER_MINUTE: '1000',
  MAX_PENDING_UPLOADS: '5',
  MULTIPART_THRESHOLD_BYTES: String(8 * 1024 ** 2),
  MULTIPART_MIN_PART_BYTES: String(5 * 1024 ** 2),
  CORS_ORIGINS: 'https://console.example',
  EVENT_BUS_NAME: 'files-bus',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
  INGEST_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ingest',
  MAX_RECEIVE_COUNT: '5',
  MIN_TIME_LEFT_SECONDS: '20',
});
const s3 = mockClient(S3Client);
const eventBridge = mockClient(EventBridgeClient);
const dynamo = mockClient(DynamoDBClient);
mockClient(SQSClient);
const { handler: uploadApi } = await import('../../../functions/upload-api.ts');
const { handler: processImage } = await import('../../../functions/process-image.ts');

/** bench/pipeline-jpeg.ts's photo: 4000 × 3000, smooth gradients and fine noise, quality 90. */
const photo = async (): Promise<Buffer> => {
  const width = 4000;
  const height = 3000;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let i = 0; i < pixels.length; i += 3) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const noise = (seed >> 16) & 0x1f;
    const x = (i / 3) % width;
    const y = Math.floor(i / 3 / width);
    pixels[i] = ((x * 200) / width + noise) & 0xff;
    pixels[i + 1] = ((y * 200) / height + noise) & 0xff;
    pixels[i + 2] = (((x + y) * 100) / (width + height) + noise * 2) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
};

it('an image costs the statements, requests, writes and bytes the cost model counts', async () => {
  const { db } = await database();
  await migrate(db);
  const jpeg = await photo();
  const objects = new Map<string, Buffer>();
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const data = objects.get(input.Key) ?? Buffer.alloc(0);
    return { Body: Readable.from([data]), ContentLength: data.length, VersionId: 'v1' };
  });
  s3.on(PutObjectCommand).resolves({ VersionId: 'd1' });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  dynamo.on(PutItemCommand).resolves({});
  dynamo.on(UpdateItemCommand).resolves({});
  const statements = vi.spyOn(db, 'query');

  const request = apiEvent({
    method: 'POST',
    path: '/uploads',
    body: JSON.stringify({ filename: 'photo.jpg', contentType: 'image/jpeg', size: jpeg.length }),
    ownerId: 'owner-1',
  });
  const response = await uploadApi(request, lambdaContext('upload-api'));
  expect(response.statusCode).toBe(201);
  expect(statements).toHaveBeenCalledTimes(MEASURED.uploadStatements.value);
  expect(s3.calls()).toHaveLength(0);

  statements.mockClear();
  const { fileId, upload } = JSON.parse(response.body);
  objects.set(upload.fields.key, jpeg);
  const record = sqsRecord(objectCreatedEvent('uploads-bucket', upload.fields.key, jpeg.length));
  const result = await processImage({ Records: [record] }, lambdaContext('process-image'));
  expect(result.batchItemFailures).toEqual([]);

  expect(statements).toHaveBeenCalledTimes(MEASURED.processorStatements.value);
  expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  const derivatives = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Body as Buffer);
  expect(derivatives).toHaveLength(2);
  expect(s3.calls()).toHaveLength(3);
  // The same photo's derivatives with the pinned sharp; a tenth either way for another libvips.
  const derivedBytes = derivatives.reduce((total, body) => total + body.length, 0);
  expect(Math.abs(derivedBytes / MEASURED.imageDerivativeBytes.value - 1)).toBeLessThan(0.1);

  // Powertools idempotency: one write in progress, one completed, each under 1 KB (one unit).
  expect(dynamo.calls()).toHaveLength(MEASURED.idempotencyWrites.value);
  for (const call of dynamo.calls())
    expect(JSON.stringify(call.args[0].input).length).toBeLessThan(1024);

  // The run's start and its end, each inside one 64 KB unit; the end of about the size the
  // model archives.
  const events = eventBridge.commandCalls(PutEventsCommand);
  expect(events).toHaveLength(PUSHES_PER_FILE);
  for (const event of events)
    expect(JSON.stringify(event.args[0].input).length).toBeLessThan(64 * 1024);
  const eventBytes = JSON.stringify(events.at(-1)?.args[0].input).length;
  expect(Math.abs(eventBytes / MEASURED.eventBytes.value - 1)).toBeLessThan(0.1);

  const stored = await (await fileRepository()).get(fileId);
  expect(stored?.status).toBe('PROCESSED');
  expect(Math.abs(JSON.stringify(stored).length / MEASURED.recordBytes.value - 1)).toBeLessThan(
    0.1,
  );
});
