import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

type Listed = { readonly Key?: string; readonly VersionId?: string };

/** S3, as the functions use it. The client is injected; tests give a mocked or emulator one. */
export class ObjectStore {
  constructor(private readonly s3: S3Client) {}

  /** Every page of versions under a prefix: the versions (with ETag, date) and delete markers. */
  private async *versionPages(bucket: string, prefix: string) {
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
      yield { versions: page.Versions ?? [], markers: page.DeleteMarkers ?? [] };
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
  }

  /** Removes the listed versions for good, in one request (a page holds at most 1,000). */
  private async deleteListed(bucket: string, listed: readonly Listed[]): Promise<number> {
    const objects = listed
      .filter((v) => v.Key !== undefined)
      .map((v) => ({ Key: v.Key as string, ...(v.VersionId && { VersionId: v.VersionId }) }));
    if (objects.length === 0) return 0;
    const result = await this.s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
    );
    if (result.Errors && result.Errors.length > 0) {
      const first = result.Errors[0];
      throw new Error(
        `S3 kept ${result.Errors.length} of ${objects.length} versions: ${first?.Key} ${first?.Code} ${first?.Message}`,
      );
    }
    return objects.length;
  }

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

  /**
   * An object's current version, or the version named, or undefined when there is none (404;
   * a version id S3 does not know is a 400 there, and none as well).
   */
  async head(
    bucket: string,
    key: string,
    versionId?: string,
  ): Promise<{ readonly versionId?: string; readonly etag?: string } | undefined> {
    try {
      const response = await this.s3.send(
        new HeadObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(versionId && { VersionId: versionId }),
        }),
      );
      return {
        ...(response.VersionId && { versionId: response.VersionId }),
        ...(response.ETag && { etag: response.ETag }),
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return undefined;
      if (versionId && status === 400) return undefined;
      throw error;
    }
  }

  /**
   * The version of an object whose ETag is `etag` (the newest such), for an event that names
   * the object's ETag but not its version (MiniStack's S3 events carry no `version-id`; AWS's
   * do). Undefined when no version has that ETag (it was removed meanwhile).
   */
  async versionWithEtag(bucket: string, key: string, etag: string): Promise<string | undefined> {
    const wanted = etag.replace(/"/g, '');
    for await (const { versions } of this.versionPages(bucket, key)) {
      const match = versions
        .filter((v) => v.Key === key && v.ETag?.replace(/"/g, '') === wanted && v.VersionId)
        .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))[0];
      if (match?.VersionId) return match.VersionId;
    }
    return undefined;
  }

  /** Writes an object; returns the version S3 gave it (none in an unversioned bucket). */
  async put(
    bucket: string,
    key: string,
    body: Buffer,
    contentType: string,
    metadata: Record<string, string> = {},
  ): Promise<{ readonly versionId?: string }> {
    const response = await this.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        Metadata: metadata,
      }),
    );
    return response.VersionId ? { versionId: response.VersionId } : {};
  }

  /**
   * Removes for good every version (and delete marker) of one key but `keep`. Returns how many
   * went.
   */
  async deleteVersionsExcept(bucket: string, key: string, keep: string): Promise<number> {
    let deleted = 0;
    for await (const { versions, markers } of this.versionPages(bucket, key)) {
      const others = [...versions, ...markers].filter(
        (v) => v.Key === key && v.VersionId && v.VersionId !== keep,
      );
      deleted += await this.deleteListed(bucket, others);
    }
    return deleted;
  }

  /**
   * Deletes every version of every object under each prefix (the bucket is versioned: a plain
   * delete would only hide the data behind a delete marker). Returns how many versions went.
   */
  async deleteEverything(bucket: string, prefixes: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const prefix of prefixes) {
      for await (const { versions, markers } of this.versionPages(bucket, prefix)) {
        deleted += await this.deleteListed(bucket, [...versions, ...markers]);
      }
    }
    return deleted;
  }

  /**
   * Writes a local file as an object, streamed (a video rendition may not fit in memory; one
   * PUT takes up to 5 GB). Returns the version S3 gave it and its size.
   */
  async putFile(
    bucket: string,
    key: string,
    path: string,
    contentType: string,
    metadata: Record<string, string> = {},
  ): Promise<{ readonly versionId?: string; readonly size: number }> {
    const { size } = await stat(path);
    const response = await this.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: contentType,
        Metadata: metadata,
      }),
    );
    return { ...(response.VersionId && { versionId: response.VersionId }), size };
  }

  /** A whole (small) object's bytes, or undefined when there is no such object. */
  async readAll(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const object = await this.open(bucket, key);
      const chunks: Uint8Array[] = [];
      for await (const chunk of object.body) chunks.push(chunk);
      return Buffer.concat(chunks);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** An object's size and version, or undefined when there is none. */
  async stat(
    bucket: string,
    key: string,
  ): Promise<{ readonly size: number; readonly versionId?: string } | undefined> {
    try {
      const response = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        size: response.ContentLength ?? 0,
        ...(response.VersionId && { versionId: response.VersionId }),
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return undefined;
      throw error;
    }
  }
}
