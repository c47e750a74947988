/** The object an S3 event speaks of. */
export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
}

/** The version an outcome is recorded against: the S3 version id, else the ETag. */
export const objectVersionOf = (ref: ObjectRef): string =>
  ref.versionId ?? ref.etag?.replace(/"/g, '') ?? 'unversioned';
