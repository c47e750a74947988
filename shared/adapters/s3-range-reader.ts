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
 * what it asks for. The size and ETag come from one `HeadObject` of the same version.
 *
 * A store that answers a ranged GET of a named version with the whole object (MiniStack does;
 * S3 does not) would make every read a full download: once an answer's length says so, its body
 * is dropped unread and the reader asks for the current object instead, pinned to the same
 * bytes by `If-Match` on the version's ETag (S3 answers 412 if the current object is other
 * bytes, and the read fails rather than lies).
 */
export const s3RangeReader = async (
  s3: S3Client,
  ref: ObjectVersionRef,
): Promise<ByteRangeReader> => {
  const head = await s3.send(
    new HeadObjectCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      ...(ref.versionId && { VersionId: ref.versionId }),
    }),
  );
  const size = head.ContentLength ?? 0;
  const etag = head.ETag;
  let pinByVersion = Boolean(ref.versionId);
  return {
    size,
    read: async (offset, length) => {
      const end = Math.min(size, offset + length) - 1;
      if (end < offset) return new Uint8Array(0);
      const wanted = end - offset + 1;
      const get = () =>
        s3.send(
          new GetObjectCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            ...(pinByVersion ? { VersionId: ref.versionId } : etag ? { IfMatch: etag } : {}),
            Range: `bytes=${offset}-${end}`,
          }),
        );
      let response = await get();
      if (pinByVersion && etag && wanted !== size && response.ContentLength === size) {
        // The range was ignored: the whole object is coming. Its body is dropped unread (a
        // 1 GiB original would be read into memory) and the range asked by ETag, from now on.
        (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        pinByVersion = false;
        response = await get();
      }
      if (!response.Body) throw new Error(`S3 returned no body for s3://${ref.bucket}/${ref.key}`);
      const bytes = await response.Body.transformToByteArray();
      if (bytes.length === wanted) return bytes;
      throw new Error(
        `S3 answered ${bytes.length} bytes for the ${wanted} bytes at ${offset} of s3://${ref.bucket}/${ref.key}`,
      );
    },
  };
};
