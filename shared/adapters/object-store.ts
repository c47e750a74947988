import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** An object being read: its body as a stream, read once. */
export interface ObjectBody {
  readonly body: AsyncIterable<Uint8Array>;
  readonly contentLength?: number;
  readonly versionId?: string;
  readonly etag?: string;
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

  /** The current version of an object, or undefined when there is none (404). */
  async head(
    bucket: string,
    key: string,
  ): Promise<{ readonly versionId?: string; readonly etag?: string } | undefined> {
    try {
      const response = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        ...(response.VersionId && { versionId: response.VersionId }),
        ...(response.ETag && { etag: response.ETag }),
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return undefined;
      throw error;
    }
  }

  async put(bucket: string, key: string, body: Buffer, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  /**
   * Deletes every version of every object under each prefix (the bucket is versioned: a plain
   * delete would only hide the data behind a delete marker). Returns how many versions went.
   */
  async deleteEverything(bucket: string, prefixes: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const prefix of prefixes) {
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      do {
        const page = await this.s3.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
        );
        const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
          .filter((v) => v.Key !== undefined)
          .map((v) => ({ Key: v.Key as string, ...(v.VersionId && { VersionId: v.VersionId }) }));
        if (objects.length > 0) {
          const result = await this.s3.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
          );
          if (result.Errors && result.Errors.length > 0) {
            const first = result.Errors[0];
            throw new Error(
              `S3 kept ${result.Errors.length} objects under ${prefix}: ${first?.Code} ${first?.Message}`,
            );
          }
          deleted += objects.length;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker);
    }
    return deleted;
  }
}
