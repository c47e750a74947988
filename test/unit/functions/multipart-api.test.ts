import { randomBytes, randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  ListPartsCommand,
  NoSuchUpload,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { database, fileRepository } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { crc64nvme, crc64ToBase64 } from '#shared/domain/crc64nvme.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { logger, MetricName, metrics } from '#shared/observability/powertools.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';
import { documented } from '../../support/openapi.ts';

stubFunctionEnv({
  BUCKET_NAME: 'uploads-bucket',
  EVENT_BUS_NAME: 'files-bus',
  MULTIPART_MIN_PART_BYTES: String(5 * 1024 ** 2),
});
const s3 = mockClient(S3Client);
const eventBridge = mockClient(EventBridgeClient);
const { handler } = await import('../../../functions/multipart-api.ts');

const OWNER = 'owner-1';
const PART = 5 * 1024 ** 2;
// Parts of a 10 MiB + 1 byte file: 5 MiB, 5 MiB, 1 byte. The CRCs are of small stand-ins; the
// checks only combine what S3 lists.
const data = [randomBytes(PART), randomBytes(PART), randomBytes(1)];
const SIZE = 2 * PART + 1;

const pending = async () => {
  const repository = await fileRepository();
  const fileId = randomUUID();
  await repository.createPending({
    fileId,
    ownerId: OWNER,
    filename: 'big.bin',
    contentType: 'application/octet-stream',
    size: SIZE,
    checksumSha256: null,
    bucket: 'uploads-bucket',
    key: uploadKey(OWNER, fileId, 'image'),
    uploadExpiresAt: new Date(Date.now() + 86_400_000),
  });
  return fileId;
};

const complete = async (fileId: string, checksumCrc64nvme: string) => {
  const event = apiEvent({
    method: 'POST',
    path: `/uploads/${fileId}/complete`,
    resource: '/uploads/{fileId}/complete',
    body: JSON.stringify({ uploadId: 'up-1', checksumCrc64nvme }),
    ownerId: OWNER,
    pathParameters: { fileId },
  });
  return documented(event, await handler(event, lambdaContext('multipart-api')));
};

const listed = (withChecksums: boolean, parts = data) => ({
  Parts: parts.map((bytes, i) => ({
    PartNumber: i + 1,
    Size: bytes.length,
    ETag: `"e${i + 1}"`,
    ...(withChecksums && { ChecksumCRC64NVME: crc64ToBase64(crc64nvme(bytes)) }),
  })),
});

const whole = crc64ToBase64(crc64nvme(Buffer.concat(data)));

describe('POST /uploads/{fileId}/complete', () => {
  beforeAll(async () => {
    await migrate((await database()).db);
  });
  beforeEach(() => {
    s3.reset();
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("completes when S3's per-part checksums combine into the client's", async () => {
    const fileId = await pending();
    s3.on(ListPartsCommand).resolves(listed(true));
    s3.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'v1' });
    const response = await complete(fileId, whole);
    expect(JSON.parse(response.body)).toEqual({
      fileId,
      status: 'UPLOADED',
      checksumVerified: true,
      checksumCrc64nvme: whole,
    });
    expect(
      s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts,
    ).toHaveLength(3);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('UPLOADED');
  });

  it('aborts and ends REJECTED, before any object exists, when they do not', async () => {
    const fileId = await pending();
    s3.on(ListPartsCommand).resolves(listed(true));
    s3.on(AbortMultipartUploadCommand).resolves({});
    const response = await complete(fileId, crc64ToBase64(crc64nvme(Buffer.from('other bytes'))));
    expect(JSON.parse(response.body)).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining(whole),
    });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('REJECTED');
    const detail = JSON.parse(
      eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}',
    );
    expect(detail).toMatchObject({ fileId, status: 'REJECTED' });
  });

  it("without per-part checksums, checks S3's full-object checksum and removes a refused version", async () => {
    const fileId = await pending();
    s3.on(ListPartsCommand).resolves(listed(false));
    s3.on(CompleteMultipartUploadCommand).resolves({
      VersionId: 'v9',
      ChecksumCRC64NVME: whole,
      ChecksumType: 'FULL_OBJECT',
    });
    s3.on(DeleteObjectCommand).resolves({});
    const response = await complete(fileId, crc64ToBase64(crc64nvme(Buffer.from('x'))));
    expect(JSON.parse(response.body).status).toBe('REJECTED');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toMatchObject({
      VersionId: 'v9',
    });
  });

  it('says so, and claims no checksum, when S3 gives neither per-part nor full-object CRC64NVME', async () => {
    const fileId = await pending();
    const warnings = vi.spyOn(logger, 'warn');
    const counted = vi.spyOn(metrics, 'addMetric');
    s3.on(ListPartsCommand).resolves(listed(false));
    s3.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'v3' });
    const response = await complete(fileId, whole);
    // Not the client's own checksum handed back as if S3 had checked it.
    expect(JSON.parse(response.body)).toEqual({
      fileId,
      status: 'UPLOADED',
      checksumVerified: false,
    });
    expect(warnings).toHaveBeenCalledWith(
      expect.stringContaining('without a checksum'),
      expect.objectContaining({ fileId }),
    );
    expect(counted).toHaveBeenCalledWith(MetricName.MultipartChecksumsUnverified, 'Count', 1);
    expect((await (await fileRepository()).get(fileId))?.status).toBe('UPLOADED');
  });

  it("reports S3's full-object checksum as verified when it matches the client's", async () => {
    const fileId = await pending();
    const counted = vi.spyOn(metrics, 'addMetric');
    s3.on(ListPartsCommand).resolves(listed(false));
    s3.on(CompleteMultipartUploadCommand).resolves({
      VersionId: 'v4',
      ChecksumCRC64NVME: whole,
      ChecksumType: 'FULL_OBJECT',
    });
    const response = await complete(fileId, whole);
    expect(JSON.parse(response.body)).toEqual({
      fileId,
      status: 'UPLOADED',
      checksumVerified: true,
      checksumCrc64nvme: whole,
    });
    expect(counted).not.toHaveBeenCalledWith(MetricName.MultipartChecksumsUnverified, 'Count', 1);
  });

  it('refuses with 409 while parts are missing, and 404 for an upload S3 does not know', async () => {
    const fileId = await pending();
    s3.on(ListPartsCommand).resolves(listed(true, data.slice(0, 2)));
    const missing = await complete(fileId, whole);
    expect(missing.statusCode).toBe(409);
    expect(JSON.parse(missing.body).error.message).toMatch(/parts missing: 3/);
    s3.on(ListPartsCommand).rejects(new NoSuchUpload({ message: 'no', $metadata: {} }));
    expect((await complete(fileId, whole)).statusCode).toBe(404);
  });
});
