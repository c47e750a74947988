import { CreateMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { planParts } from '../domain/multipart.ts';

/** The multipart session `POST /uploads` hands out for a large file. */
export interface MultipartSession {
  readonly method: 'MULTIPART';
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  readonly checksumAlgorithm: 'CRC64NVME';
}

/**
 * Starts the upload of a large file and tells the client how to cut it. The object will carry a
 * full-object CRC64NVME. Alone in its module: the upload API's cold start pays for this one
 * command, not for the presigner and the other multipart commands (multipart-store.ts).
 */
export const startMultipartSession = async (
  s3: S3Client,
  input: { bucket: string; key: string; contentType: string; size: number; minPartBytes: number },
): Promise<MultipartSession> => {
  const plan = planParts(input.size, input.minPartBytes);
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: input.bucket,
      Key: input.key,
      ContentType: input.contentType,
      ChecksumAlgorithm: 'CRC64NVME',
      ChecksumType: 'FULL_OBJECT',
    }),
  );
  if (!created.UploadId) throw new Error('S3 started a multipart upload without an id');
  return {
    method: 'MULTIPART',
    uploadId: created.UploadId,
    ...plan,
    checksumAlgorithm: 'CRC64NVME',
  };
};
