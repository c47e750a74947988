import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartS3Client } from '../../../shared/adapters/clients.ts';
import { MultipartStore } from '../../../shared/adapters/multipart-store.ts';

const saved = { ...process.env };

beforeAll(() => {
  // Presigning signs locally: no request leaves the process.
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
});
afterAll(() => {
  process.env = saved;
});

const checksumParameters = (url: string): string[] =>
  [...new URL(url).searchParams.keys()].filter((name) =>
    /^x-amz-(checksum-|sdk-checksum-algorithm)/i.test(name),
  );

const presign = (s3: S3Client) =>
  new MultipartStore(s3, 'uploads-bucket').presignParts(
    'uploads/owner/file/photo.tif',
    'upload-id',
    [1, 2],
    300,
  );

describe('MultipartStore.presignParts', () => {
  it('signs part URLs that name no checksum, so a browser can PUT any bytes of the part', async () => {
    const parts = await presign(multipartS3Client());
    expect(parts.map((part) => part.partNumber)).toEqual([1, 2]);
    for (const { url } of parts) {
      expect(new URL(url).searchParams.get('partNumber')).not.toBeNull();
      expect(checksumParameters(url)).toEqual([]);
    }
  });

  it("is needed: the SDK's default client bakes an empty body's checksum into the URL", async () => {
    // If this ever stops holding, the WHEN_REQUIRED setting is no longer what keeps URLs usable.
    const [part] = await presign(new S3Client({}));
    expect(checksumParameters(part?.url ?? '')).not.toEqual([]);
  });
});
