import { type FileKind, isFileKind } from './kinds.ts';

/**
 * Object keys are built from ids alone, so a user's filename can never steer where an object
 * lands. Keys arriving in S3 events may be URL-encoded; every key from outside goes through
 * `parseUploadKey`, which accepts it only if it decodes to our exact shape.
 *
 * An upload's key starts with its kind (`uploads/<kind>/<ownerId>/<fileId>`), a closed list
 * chosen by the API, never by the user's text: one EventBridge rule per kind's prefix feeds that
 * kind's queue. Keys made before kinds existed (`uploads/<ownerId>/<fileId>`) still parse.
 */
const OWNER_ID = /^[A-Za-z0-9_-]{1,128}$/;
const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPLOAD_KEY = /^uploads\/(?:([a-z]{1,16})\/)?([A-Za-z0-9_-]{1,128})\/([0-9a-f-]{36})$/;

export const UPLOAD_PREFIX = 'uploads/';
export const DERIVED_PREFIX = 'derived/';
/** Parquet laid out for Athena (docs/analytics.md); never under `uploads/`, so it triggers nothing. */
export const ANALYTICS_PREFIX = 'analytics/';

/** Where a kind's uploads land: its own EventBridge rule matches this prefix. */
export const kindPrefix = (kind: FileKind): string => `${UPLOAD_PREFIX}${kind}/`;

export const isOwnerId = (value: string): boolean => OWNER_ID.test(value);
export const isFileId = (value: string): boolean => FILE_ID.test(value);

export const uploadKey = (ownerId: string, fileId: string, kind: FileKind): string => {
  if (!isOwnerId(ownerId)) throw new Error(`Invalid owner id: ${JSON.stringify(ownerId)}`);
  if (!isFileId(fileId)) throw new Error(`Invalid file id: ${JSON.stringify(fileId)}`);
  if (!isFileKind(kind)) throw new Error(`Invalid kind: ${JSON.stringify(kind)}`);
  return `${kindPrefix(kind)}${ownerId}/${fileId}`;
};

/** Where a derivative of a file is written: never under `uploads/`, so it triggers nothing. */
export const derivedKey = (ownerId: string, fileId: string, name: string): string =>
  `${DERIVED_PREFIX}${ownerId}/${fileId}/${name}`;

/** Prefix of every derivative of one file, for deletes. */
export const derivedPrefix = (ownerId: string, fileId: string): string =>
  `${DERIVED_PREFIX}${ownerId}/${fileId}/`;

const decodeEventKey = (key: string): string | undefined => {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
};

/** What an upload key says: the ids, and the kind for keys made since kinds exist. */
export interface UploadKeyParts {
  readonly ownerId: string;
  readonly fileId: string;
  /** Absent for a key of the layout before kinds (the record says the kind). */
  readonly kind?: FileKind;
}

/** The ids in an upload key from an event, or undefined if it is not one of ours. */
export const parseUploadKey = (eventKey: string): UploadKeyParts | undefined => {
  for (const candidate of [eventKey, decodeEventKey(eventKey)]) {
    if (candidate === undefined) continue;
    const match = UPLOAD_KEY.exec(candidate);
    if (!match?.[2] || !match[3] || !isFileId(match[3])) continue;
    const kind = match[1];
    if (kind === undefined) return { ownerId: match[2], fileId: match[3] };
    if (isFileKind(kind)) return { ownerId: match[2], fileId: match[3], kind };
  }
  return undefined;
};
