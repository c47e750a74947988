/**
 * Object keys are built from ids alone, so a user's filename can never steer where an object
 * lands. Keys arriving in S3 events may be URL-encoded; every key from outside goes through
 * `parseUploadKey`, which accepts it only if it decodes to our exact shape.
 */
const OWNER_ID = /^[A-Za-z0-9_-]{1,128}$/;
const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPLOAD_KEY = /^uploads\/([A-Za-z0-9_-]{1,128})\/([0-9a-f-]{36})$/;

export const UPLOAD_PREFIX = 'uploads/';
export const DERIVED_PREFIX = 'derived/';

export const isOwnerId = (value: string): boolean => OWNER_ID.test(value);
export const isFileId = (value: string): boolean => FILE_ID.test(value);

export const uploadKey = (ownerId: string, fileId: string): string => {
  if (!isOwnerId(ownerId)) throw new Error(`Invalid owner id: ${JSON.stringify(ownerId)}`);
  if (!isFileId(fileId)) throw new Error(`Invalid file id: ${JSON.stringify(fileId)}`);
  return `${UPLOAD_PREFIX}${ownerId}/${fileId}`;
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

/** The ids in an upload key from an event, or undefined if it is not one of ours. */
export const parseUploadKey = (
  eventKey: string,
): { ownerId: string; fileId: string } | undefined => {
  for (const candidate of [eventKey, decodeEventKey(eventKey)]) {
    if (candidate === undefined) continue;
    const match = UPLOAD_KEY.exec(candidate);
    if (match?.[1] && match[2] && isFileId(match[2])) {
      return { ownerId: match[1], fileId: match[2] };
    }
  }
  return undefined;
};
