import { createHash, randomBytes } from 'node:crypto';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ApiError,
  crc64nvme,
  crc64ToBase64,
  fetchTransport,
  memoryJournal,
  type SyncFlowClient,
  Uploader,
  type UploadResponse,
} from '../../client/src/index.ts';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';

const target = inject('target');
const s3 = new S3Client({ ...target.aws, forcePathStyle: Boolean(target.aws.endpoint) });
const outputs = target.outputs as Record<string, string>;
const MIB = 1024 ** 2;
let alice: E2eUser;
let bob: E2eUser;

/** The local stage's multipart threshold and smallest part (infra/stages.ts). */
const THRESHOLD = 8 * MIB;
const PART = 5 * MIB;

const file = (data: Uint8Array, name: string) =>
  new File([new Uint8Array(data)], name, { type: 'application/octet-stream', lastModified: 7 });

/** Starts a multipart session by hand, for the hostile tests. */
const startSession = async (client: SyncFlowClient, size: number) => {
  const created: UploadResponse = await client.api.createUpload({
    filename: 'parts.bin',
    contentType: 'application/octet-stream',
    size,
  });
  if (created.upload.method !== 'MULTIPART') throw new Error('expected a multipart session');
  return { fileId: created.fileId, ...created.upload };
};

/** PUTs one part's bytes to its signed URL, as a browser would. */
const putPart = async (
  client: SyncFlowClient,
  fileId: string,
  uploadId: string,
  n: number,
  bytes: Uint8Array,
) => {
  const signed = await client.api.signParts(fileId, uploadId, [n]);
  const response = await fetch(signed.parts[0]?.url ?? '', {
    method: 'PUT',
    body: new Uint8Array(bytes),
  });
  expect(response.status).toBe(200);
};

/** The status and code of a refused call. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: unknown) =>
      error instanceof ApiError ? `${error.status} ${error.code}` : String(error),
  );

const versionsOf = async (fileId: string, ownerId: string) => {
  const listed = await s3.send(
    new ListObjectVersionsCommand({
      Bucket: outputs.BucketName,
      // application/octet-stream is of the `other` kind.
      Prefix: `uploads/other/${ownerId}/${fileId}`,
    }),
  );
  return listed.Versions ?? [];
};

const waitForEnd = async (client: SyncFlowClient, fileId: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await client.api.getFile(fileId);
    if (['PROCESSED', 'FAILED', 'REJECTED'].includes(found.status)) return found;
    if (Date.now() > deadline) throw new Error(`${fileId} is still ${found.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

describe(`multipart uploads on the ${target.name} stack`, () => {
  let remove: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const fresh = await freshUsers(target, ['mp-alice', 'mp-bob']);
    remove = fresh.remove;
    [alice, bob] = fresh.users as [E2eUser, E2eUser];
  });
  afterAll(async () => {
    await remove();
  });

  it('uploads a large file in parallel parts, completes it as one version and processes it', async () => {
    const data = randomBytes(3 * PART + 12_345);
    const uploader = new Uploader(alice.client.api, target.restUrl, {
      transport: fetchTransport(),
    });
    const result = await uploader.upload(file(data, 'large.bin'), { concurrency: 3 });
    expect(result).toMatchObject({ method: 'MULTIPART', partsSent: 4, resumed: false });
    expect(result.checksumCrc64nvme).toBe(crc64ToBase64(crc64nvme(data)));
    const processed = await waitForEnd(alice.client, result.fileId);
    expect(processed).toMatchObject({
      status: 'PROCESSED',
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    });
    expect(await versionsOf(result.fileId, alice.ownerId)).toHaveLength(1);
    const downloaded = Buffer.from(
      await (await fetch(processed.download?.url ?? '')).arrayBuffer(),
    );
    expect(downloaded.equals(data)).toBe(true);
  });

  it('resumes after an interruption, sending only the parts S3 does not have', async () => {
    const data = randomBytes(4 * PART + 1);
    const journal = memoryJournal();
    const first = new Uploader(alice.client.api, target.restUrl, {
      transport: fetchTransport(),
      journal,
    });
    const stop = new AbortController();
    await expect(
      first.upload(file(data, 'resumed.bin'), {
        concurrency: 1,
        signal: stop.signal,
        onProgress: ({ loaded }) => {
          if (loaded >= 2 * PART) stop.abort();
        },
      }),
    ).rejects.toThrow();
    const [[, entry] = []] = journal.entries();
    if (!entry) throw new Error('no journal entry');
    const listed = await alice.client.api.listParts(entry.fileId, entry.uploadId);
    expect(listed.parts.map((p) => p.partNumber)).toEqual([1, 2]);

    // A new uploader with the same journal, as after a page reload.
    const second = new Uploader(alice.client.api, target.restUrl, {
      transport: fetchTransport(),
      journal,
    });
    const result = await second.upload(file(data, 'resumed.bin'));
    expect(result).toMatchObject({ fileId: entry.fileId, resumed: true, partsSent: 3 });
    expect(result.checksumCrc64nvme).toBe(crc64ToBase64(crc64nvme(data)));
    expect(await waitForEnd(alice.client, entry.fileId)).toMatchObject({
      status: 'PROCESSED',
      sha256: createHash('sha256').update(data).digest('hex'),
    });
  });

  it('answers POST /uploads with a presigned POST below the threshold and a session at it', async () => {
    const small = await alice.client.api.createUpload({
      filename: 's.bin',
      contentType: 'application/octet-stream',
      size: THRESHOLD - 1,
    });
    expect(small.upload.method).toBe('POST');
    const large = await startSession(alice.client, THRESHOLD);
    expect(large).toMatchObject({
      method: 'MULTIPART',
      partSize: PART,
      partCount: 2,
      checksumAlgorithm: 'CRC64NVME',
    });
    await alice.client.api.abortUpload(large.fileId, large.uploadId);
  });

  it('refuses part numbers outside the plan and malformed requests', async () => {
    const session = await startSession(alice.client, 2 * PART);
    const sign = (parts: unknown, uploadId: unknown = session.uploadId) =>
      refusal(
        alice.client.api.request('POST', `uploads/${session.fileId}/parts`, {
          body: { uploadId, partNumbers: parts },
        }),
      );
    expect(await sign([0])).toBe('400 BAD_REQUEST');
    expect(await sign([3])).toBe('400 BAD_REQUEST');
    expect(await sign([1, 1])).toBe('400 BAD_REQUEST');
    expect(await sign([])).toBe('400 BAD_REQUEST');
    expect(await sign(Array.from({ length: 101 }, (_, i) => i + 1))).toBe('400 BAD_REQUEST');
    expect(await sign([1], 'x'.repeat(2000))).toBe('400 BAD_REQUEST');
    expect(await sign([1], 'not-an-upload')).toBe('404 NOT_FOUND');
    expect(
      await refusal(
        alice.client.api.request('POST', `uploads/${session.fileId}/complete`, {
          body: { uploadId: session.uploadId, checksumCrc64nvme: 'nope' },
        }),
      ),
    ).toBe('400 BAD_REQUEST');
    await alice.client.api.abortUpload(session.fileId, session.uploadId);
  });

  it("keeps another user's upload out of reach: sign, list, complete, abort all answer 404", async () => {
    const session = await startSession(alice.client, 2 * PART);
    const { fileId, uploadId } = session;
    expect(await refusal(bob.client.api.signParts(fileId, uploadId, [1]))).toBe('404 NOT_FOUND');
    expect(await refusal(bob.client.api.listParts(fileId, uploadId))).toBe('404 NOT_FOUND');
    expect(await refusal(bob.client.api.completeUpload(fileId, uploadId, 'AAAAAAAAAAA='))).toBe(
      '404 NOT_FOUND',
    );
    expect(await refusal(bob.client.api.abortUpload(fileId, uploadId))).toBe('404 NOT_FOUND');
    // Bob's own file with Alice's upload id: the id names nothing under Bob's key.
    const bobs = await startSession(bob.client, 2 * PART);
    expect(await refusal(bob.client.api.signParts(bobs.fileId, uploadId, [1]))).toBe(
      '404 NOT_FOUND',
    );
    expect(
      await refusal(bob.client.api.completeUpload(bobs.fileId, uploadId, 'AAAAAAAAAAA=')),
    ).toBe('404 NOT_FOUND');
    // Alice's upload is untouched.
    expect((await alice.client.api.listParts(fileId, uploadId)).parts).toEqual([]);
    await alice.client.api.abortUpload(fileId, uploadId);
    await bob.client.api.abortUpload(bobs.fileId, bobs.uploadId);
  });

  it('refuses to complete with parts missing and leaves the upload open to finish', async () => {
    const data = randomBytes(2 * PART + 10);
    const session = await startSession(alice.client, data.length);
    await putPart(alice.client, session.fileId, session.uploadId, 1, data.subarray(0, PART));
    await putPart(alice.client, session.fileId, session.uploadId, 3, data.subarray(2 * PART));
    const checksum = crc64ToBase64(crc64nvme(data));
    const missing = await alice.client.api
      .completeUpload(session.fileId, session.uploadId, checksum)
      .catch((e: ApiError) => e);
    expect(missing).toMatchObject({
      status: 409,
      message: expect.stringContaining('parts missing: 2'),
    });
    // A part of the wrong size is named too.
    await putPart(
      alice.client,
      session.fileId,
      session.uploadId,
      2,
      data.subarray(PART, PART + 100),
    );
    const short = await alice.client.api
      .completeUpload(session.fileId, session.uploadId, checksum)
      .catch((e: ApiError) => e);
    expect(short).toMatchObject({
      status: 409,
      message: expect.stringContaining('part 2 has 100 bytes'),
    });
    await putPart(alice.client, session.fileId, session.uploadId, 2, data.subarray(PART, 2 * PART));
    const done = await alice.client.api.completeUpload(session.fileId, session.uploadId, checksum);
    expect(done).toMatchObject({
      fileId: session.fileId,
      checksumVerified: true,
      checksumCrc64nvme: checksum,
    });
    expect(
      await refusal(alice.client.api.completeUpload(session.fileId, session.uploadId, checksum)),
    ).toMatch(/^(404 NOT_FOUND|409 CONFLICT)$/);
    expect((await waitForEnd(alice.client, session.fileId)).status).toBe('PROCESSED');
    expect(await versionsOf(session.fileId, alice.ownerId)).toHaveLength(1);
  });

  it('ends REJECTED, with no object made, when the bytes differ from the checksum the client read', async () => {
    const data = randomBytes(2 * PART - 7);
    const session = await startSession(alice.client, data.length);
    await putPart(alice.client, session.fileId, session.uploadId, 1, data.subarray(0, PART));
    await putPart(alice.client, session.fileId, session.uploadId, 2, data.subarray(PART));
    const tampered = Buffer.from(data);
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    const result = await alice.client.api.completeUpload(
      session.fileId,
      session.uploadId,
      crc64ToBase64(crc64nvme(tampered)),
    );
    expect(result).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining('do not match'),
    });
    const record = await alice.client.api.getFile(session.fileId);
    expect(record).toMatchObject({ status: 'REJECTED', download: null });
    expect(await versionsOf(session.fileId, alice.ownerId)).toEqual([]);
    expect(await refusal(alice.client.api.listParts(session.fileId, session.uploadId))).toBe(
      '409 CONFLICT',
    );
  });

  it('aborts once, and aborting again answers 204 too', async () => {
    const session = await startSession(alice.client, 2 * PART);
    await putPart(alice.client, session.fileId, session.uploadId, 1, randomBytes(PART));
    await alice.client.api.abortUpload(session.fileId, session.uploadId);
    await alice.client.api.abortUpload(session.fileId, session.uploadId);
    expect(await refusal(alice.client.api.getFile(session.fileId))).toBe('404 NOT_FOUND');
    expect(await refusal(alice.client.api.signParts(session.fileId, session.uploadId, [2]))).toBe(
      '409 CONFLICT',
    );
    expect(await versionsOf(session.fileId, alice.ownerId)).toEqual([]);
  });
});
