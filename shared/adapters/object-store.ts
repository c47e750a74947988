import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** An object being read: its body as a stream, read once. */
export interface ObjectBody {
  readonly body: AsyncIterable<Uint8Array>;
  readonly contentLength?: number;
  readonly versionId?: string;
  readonly etag?: string;
}

export interface PresignedPost {
  readonly method: 'POST';
  readonly url: string;
  readonly fields: Record<string, string>;
}

/** S3, as the functions use it. The client is injected; tests give a mocked or emulator one. */
export class ObjectStore {
  constructor(private readonly s3: S3Client) {}

  /** Opens an object for streaming; `versionId` pins the exact version an event spoke of. */
  async open(bucket: string, key: string, versionId?: string): Promise<ObjectBody> {
    const response = await this.s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(versionId && { VersionId: versionId }),
      }),
    );
    if (!response.Body) throw new Error(`S3 returned no body for s3://${bucket}/${key}`);
    return {
      body: response.Body as AsyncIterable<Uint8Array>,
      ...(response.ContentLength !== undefined && { contentLength: response.ContentLength }),
      ...(response.VersionId && { versionId: response.VersionId }),
      ...(response.ETag && { etag: response.ETag }),
    };
  }

  async put(bucket: string, key: string, body: Buffer, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  /**
   * A browser-ready presigned POST whose policy pins the key, the exact length and the content
   * type, so the upload can be nothing but what was asked for.
   */
  async presignPost(input: {
    bucket: string;
    key: string;
    contentType: string;
    size: number;
    expiresInSeconds: number;
  }): Promise<PresignedPost> {
    const { url, fields } = await createPresignedPost(this.s3, {
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
  }

  /** A short-lived download URL that sets the type and disposition the browser will obey. */
  presignGet(input: {
    bucket: string;
    key: string;
    contentType: string;
    disposition: string;
    expiresInSeconds: number;
  }): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        ResponseContentType: input.contentType,
        ResponseContentDisposition: input.disposition,
      }),
      { expiresIn: input.expiresInSeconds },
    );
  }

  /** Deletes the given keys and everything under the given prefix. */
  async deleteAll(bucket: string, keys: readonly string[], prefix?: string): Promise<number> {
    const all = [...keys];
    if (prefix) {
      let token: string | undefined;
      do {
        const page = await this.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const item of page.Contents ?? []) if (item.Key) all.push(item.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    for (let i = 0; i < all.length; i += 1000) {
      const batch = all.slice(i, i + 1000);
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
    return all.length;
  }
}
