import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';

/** The largest object one CopyObject copies; larger ones are copied part by part. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** Parts of a multipart copy: 10,000 of them hold 5 TiB, S3's largest object. */
const COPY_PART_BYTES = 512 * 1024 ** 2;
const COPY_PARTS_AT_ONCE = 4;

/** `CopySource` names an object as `bucket/key?versionId=…`, URL-encoded. */
const copySource = (bucket: string, key: string, versionId?: string): string =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}${
    versionId ? `?versionId=${encodeURIComponent(versionId)}` : ''
  }`;

/**
 * S3's server-side copy of one object version, apart from ObjectStore so that only the function
 * that copies (the video workflow's StageSource) bundles and loads its five commands: in
 * ObjectStore they went into every API function (multipart-api's cold start grew past its goal).
 */
export class VersionCopier {
  constructor(private readonly s3: S3Client) {}

  /**
   * Copies one version of an object to another key of the bucket, whatever its size: one
   * CopyObject up to 5 GiB, parts copied side by side beyond (S3 copies, nothing passes through
   * the function). Returns the copy's version.
   */
  async copyVersion(
    bucket: string,
    source: { readonly key: string; readonly versionId?: string; readonly size: number },
    toKey: string,
    options: { readonly singleCopyBytes?: number; readonly partBytes?: number } = {},
  ): Promise<{ readonly versionId?: string }> {
    const from = copySource(bucket, source.key, source.versionId);
    if (source.size <= (options.singleCopyBytes ?? MAX_SINGLE_COPY_BYTES)) {
      const copied = await this.s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: toKey, CopySource: from }),
      );
      return copied.VersionId ? { versionId: copied.VersionId } : {};
    }
    const partBytes = options.partBytes ?? COPY_PART_BYTES;
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: toKey }),
    );
    if (!UploadId) throw new Error(`S3 started no multipart upload for s3://${bucket}/${toKey}`);
    try {
      const count = Math.ceil(source.size / partBytes);
      const parts: { ETag: string; PartNumber: number }[] = [];
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const index = next++;
          const start = index * partBytes;
          const end = Math.min(source.size, start + partBytes) - 1;
          const part = await this.s3.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: toKey,
              UploadId,
              PartNumber: index + 1,
              CopySource: from,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          const etag = part.CopyPartResult?.ETag;
          if (!etag) throw new Error(`S3 answered part ${index + 1} of a copy without an ETag`);
          parts.push({ ETag: etag, PartNumber: index + 1 });
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_PARTS_AT_ONCE, count) }, worker));
      const done = await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: toKey,
          UploadId,
          MultipartUpload: { Parts: parts.sort((a, b) => a.PartNumber - b.PartNumber) },
        }),
      );
      return done.VersionId ? { versionId: done.VersionId } : {};
    } catch (error) {
      // Parts already copied cost storage until the bucket's lifecycle rule aborts them.
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: toKey, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}
