import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/**
 * Presigned URLs, apart from the ObjectStore so that each function bundles only the presigner
 * it uses (the upload API the POST one, the files API the GET one).
 */
export interface PresignedPost {
  readonly method: 'POST';
  readonly url: string;
  readonly fields: Record<string, string>;
}

/**
 * A browser-ready presigned POST whose policy pins the key, the exact length and the content
 * type, so the upload can be nothing but what was asked for.
 */
export const presignUpload = async (
  s3: S3Client,
  input: {
    bucket: string;
    key: string;
    contentType: string;
    size: number;
    expiresInSeconds: number;
  },
): Promise<PresignedPost> => {
  const { url, fields } = await createPresignedPost(s3, {
    Bucket: input.bucket,
    Key: input.key,
    Conditions: [
      ['content-length-range', input.size, input.size],
      ['eq', '$Content-Type', input.contentType],
    ],
    Fields: { 'Content-Type': input.contentType },
    Expires: input.expiresInSeconds,
  });
  return { method: 'POST', url, fields };
};

/**
 * A short-lived download URL that sets the type and disposition the browser will obey. It names
 * the object version when one is given: the URL then serves those bytes and no others, whatever
 * is written under the key later.
 */
export const presignDownload = (
  s3: S3Client,
  input: {
    bucket: string;
    key: string;
    versionId?: string;
    contentType: string;
    disposition: string;
    expiresInSeconds: number;
  },
): Promise<string> =>
  getSignedUrl(
    s3,
    new GetObjectCommand({
      Bucket: input.bucket,
      Key: input.key,
      ...(input.versionId && { VersionId: input.versionId }),
      ResponseContentType: input.contentType,
      ResponseContentDisposition: input.disposition,
    }),
    { expiresIn: input.expiresInSeconds },
  );
