import type { FileKind } from './kinds.ts';
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
  /** Which kind's queue takes it: one rule per kind matches on this field. */
  readonly kind: FileKind;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
}

export const reprocessMessage = (
  ref: ObjectRef,
  reprocessId: string,
  kind: FileKind,
): ReprocessMessage => ({
  type: REPROCESS_MESSAGE_TYPE,
  reprocessId,
  kind,
  bucket: ref.bucket,
  key: ref.key,
  ...(ref.versionId && { versionId: ref.versionId }),
  ...(ref.etag && { etag: ref.etag }),
});
