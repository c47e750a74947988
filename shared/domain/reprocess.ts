import type { ObjectRef } from './object-ref.ts';

/**
 * The bus event `POST /files/{fileId}/reprocess` publishes (source `syncflow.files`); a rule of
 * the ingest construct sends it to the processor's queue, so the files API needs no queue client.
 */
export const REPROCESS_REQUESTED = 'file.reprocess-requested';

/** Marks a message the files API sent for `POST /files/{fileId}/reprocess`. */
export const REPROCESS_MESSAGE_TYPE = 'syncflow.reprocess';

/** The body the files API puts on the ingest queue to have a file processed again. */
export interface ReprocessMessage {
  readonly type: typeof REPROCESS_MESSAGE_TYPE;
  readonly reprocessId: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
}

export const reprocessMessage = (ref: ObjectRef, reprocessId: string): ReprocessMessage => ({
  type: REPROCESS_MESSAGE_TYPE,
  reprocessId,
  bucket: ref.bucket,
  key: ref.key,
  ...(ref.versionId && { versionId: ref.versionId }),
  ...(ref.etag && { etag: ref.etag }),
});
