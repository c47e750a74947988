import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { VersionCopier } from '#shared/adapters/version-copier.ts';

const s3 = mockClient(S3Client);
const store = new VersionCopier(new S3Client({ region: 'eu-west-1' }));
const source = { key: 'uploads/video/owner/f', versionId: 'v+1', size: 10 };

describe('VersionCopier.copyVersion', () => {
  beforeEach(() => s3.reset());

  it('copies the named version in one request up to the single-copy size', async () => {
    s3.on(CopyObjectCommand).resolves({ VersionId: 'copy' });
    expect(await store.copyVersion('b', source, 'derived/owner/f/staging/x')).toEqual({
      versionId: 'copy',
    });
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'derived/owner/f/staging/x',
      CopySource: 'b/uploads/video/owner/f?versionId=v%2B1',
    });
  });

  it('copies a larger version part by part, every range of it, in order', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCopyCommand).callsFake((input: { PartNumber: number }) => ({
      CopyPartResult: { ETag: `"e${input.PartNumber}"` },
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'copy' });
    await store.copyVersion('b', source, 'to', { singleCopyBytes: 4, partBytes: 4 });
    const ranges = s3
      .commandCalls(UploadPartCopyCommand)
      .map((call) => [call.args[0].input.PartNumber, call.args[0].input.CopySourceRange]);
    expect(ranges.sort()).toEqual([
      [1, 'bytes=0-3'],
      [2, 'bytes=4-7'],
      [3, 'bytes=8-9'],
    ]);
    expect(
      s3
        .commandCalls(UploadPartCopyCommand)
        .every(
          (call) => call.args[0].input.CopySource === 'b/uploads/video/owner/f?versionId=v%2B1',
        ),
    ).toBe(true);
    expect(
      s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload,
    ).toEqual({
      Parts: [
        { ETag: '"e1"', PartNumber: 1 },
        { ETag: '"e2"', PartNumber: 2 },
        { ETag: '"e3"', PartNumber: 3 },
      ],
    });
  });

  it('aborts a part-by-part copy that fails', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCopyCommand).rejects(new Error('slow down'));
    s3.on(AbortMultipartUploadCommand).resolves({});
    await expect(
      store.copyVersion('b', source, 'to', { singleCopyBytes: 4, partBytes: 4 }),
    ).rejects.toThrow('slow down');
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      UploadId: 'u1',
      Key: 'to',
    });
  });
});
