import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ByteRangeReader } from '../processing/video/probe.ts';

/** Which object version to read: the one the record says was checked. */
export interface ObjectVersionRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

/**
 * Reads one object version by byte ranges (`GetObject` with `Range`), so a probe fetches only
 * what it asks for. The size comes from one `HeadObject` of the same version.
 */
export const s3RangeReader = async (
  s3: S3Client,
  ref: ObjectVersionRef,
): Promise<ByteRangeReader> => {
  const version = ref.versionId ? { VersionId: ref.versionId } : {};
  const head = await s3.send(
    new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...version }),
  );
  const size = head.ContentLength ?? 0;
  return {
    size,
    read: async (offset, length) => {
      const end = Math.min(size, offset + length) - 1;
      if (end < offset) return new Uint8Array(0);
      const response = await s3.send(
        new GetObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          ...version,
          Range: `bytes=${offset}-${end}`,
        }),
      );
      if (!response.Body) throw new Error(`S3 returned no body for s3://${ref.bucket}/${ref.key}`);
      return response.Body.transformToByteArray();
    },
  };
};
