import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  ListPartsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { StoredPart } from '../domain/multipart.ts';

/** What S3 made of a completed upload. */
export interface CompletedObject {
  readonly versionId: string | undefined;
  /** S3's checksum of the object and whether it covers the whole object or is per part. */
  readonly checksumCrc64nvme: string | undefined;
  readonly checksumType: string | undefined;
}

/** S3's answer when the (key, uploadId) pair names no upload in progress. */
const isNoSuchUpload = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'NoSuchUpload' || error.name === 'NotFound');

/**
 * S3's multipart API for one bucket once an upload is under way, apart from
 * `multipart-session.ts` so that `POST /uploads` bundles only the one command it needs. Every call names the key the server built from the
 * caller's identity: an upload id of someone else's file finds nothing under the caller's key.
 */
export class MultipartStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** Short-lived PUT URLs for the given parts; they carry no checksum (see clients.ts). */
  presignParts(
    key: string,
    uploadId: string,
    partNumbers: readonly number[],
    expiresInSeconds: number,
  ): Promise<{ partNumber: number; url: string }[]> {
    return Promise.all(
      partNumbers.map(async (partNumber) => ({
        partNumber,
        url: await getSignedUrl(
          this.s3,
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
          }),
          { expiresIn: expiresInSeconds },
        ),
      })),
    );
  }

  /** Every part S3 holds for the upload, or undefined when it has no such upload under `key`. */
  async listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.s3.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            ...(marker !== undefined && { PartNumberMarker: marker }),
          }),
        );
        for (const part of page.Parts ?? []) {
          if (part.PartNumber === undefined || part.ETag === undefined) continue;
          parts.push({
            partNumber: part.PartNumber,
            size: part.Size ?? 0,
            etag: part.ETag,
            ...(part.ChecksumCRC64NVME && { checksumCrc64nvme: part.ChecksumCRC64NVME }),
          });
        }
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker !== undefined);
    } catch (error) {
      if (isNoSuchUpload(error)) return undefined;
      throw error;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Joins the parts into one object version. */
  async complete(
    key: string,
    uploadId: string,
    parts: readonly StoredPart[],
  ): Promise<CompletedObject> {
    const done = await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: parts.map((p) => ({
            PartNumber: p.partNumber,
            ETag: p.etag,
            ...(p.checksumCrc64nvme && { ChecksumCRC64NVME: p.checksumCrc64nvme }),
          })),
        },
      }),
    );
    return {
      versionId: done.VersionId,
      checksumCrc64nvme: done.ChecksumCRC64NVME,
      checksumType: done.ChecksumType,
    };
  }

  /** Aborts the upload; returns false when there was none in progress. */
  async abort(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
      return true;
    } catch (error) {
      if (isNoSuchUpload(error)) return false;
      throw error;
    }
  }

  /** Removes one object version (a completed upload whose bytes were refused). */
  async deleteVersion(key: string, versionId: string): Promise<void> {
    await this.s3.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
    );
  }
}
