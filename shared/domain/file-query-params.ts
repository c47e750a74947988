import { createHmac, timingSafeEqual } from 'node:crypto';
import { normaliseContentType } from './content-types.ts';
import { HttpError } from './errors.ts';
import {
  DEFAULT_LIMIT,
  DEFAULT_SORT,
  type FileQuery,
  MAX_LIMIT,
  type PageAfter,
  SORT_KEYS,
  type SortKey,
} from './file-query.ts';
import { isFileStatus } from './file-record.ts';

/** The query parameters of `GET /files`. */
export const FILE_QUERY_PARAMETERS = [
  'status',
  'contentType',
  'q',
  'createdFrom',
  'createdTo',
  'sort',
  'limit',
  'cursor',
] as const;
const PARAMS = new Set<string>(FILE_QUERY_PARAMETERS);

/** The part of a query a cursor is bound to: every filter and the sort, never the limit. */
const queryFingerprint = (query: Omit<FileQuery, 'limit' | 'after'>): string =>
  JSON.stringify([
    query.ownerId,
    query.status ?? null,
    query.contentType ?? null,
    query.filenamePrefix ?? null,
    query.createdFrom?.toISOString() ?? null,
    query.createdTo?.toISOString() ?? null,
    query.sort,
  ]);

const sign = (key: Buffer, payload: string): Buffer =>
  createHmac('sha256', key).update(payload).digest();

/**
 * An opaque cursor: where the page ended, signed together with the query it belongs to, so it
 * can be neither forged nor carried over to other filters, another sort or another user.
 */
export const encodeCursor = (
  key: Buffer,
  query: Omit<FileQuery, 'limit' | 'after'>,
  after: PageAfter,
): string => {
  const payload = JSON.stringify([after.value, after.fileId]);
  const mac = sign(key, `${payload}\n${queryFingerprint(query)}`);
  return `${Buffer.from(payload).toString('base64url')}.${mac.toString('base64url')}`;
};

const badCursor = (): HttpError =>
  new HttpError(
    'BAD_REQUEST',
    'cursor: is not a cursor of this query (it was altered, or the filters or sort changed)',
  );

export const decodeCursor = (
  key: Buffer,
  query: Omit<FileQuery, 'limit' | 'after'>,
  cursor: string,
): PageAfter => {
  const [payloadPart, macPart, extra] = cursor.split('.');
  if (!payloadPart || !macPart || extra !== undefined) throw badCursor();
  const payload = Buffer.from(payloadPart, 'base64url').toString('utf8');
  const expected = sign(key, `${payload}\n${queryFingerprint(query)}`);
  const given = Buffer.from(macPart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw badCursor();
  const [value, fileId] = JSON.parse(payload) as [unknown, unknown];
  if ((typeof value !== 'string' && typeof value !== 'number') || typeof fileId !== 'string')
    throw badCursor();
  return { value, fileId };
};

const parseDate = (name: string, value: string): Date => {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new HttpError(
      'BAD_REQUEST',
      `${name}: must be an ISO 8601 date or date-time, not ${JSON.stringify(value)}`,
    );
  }
  return date;
};

/** Validates `GET /files` query parameters into a query for one owner; every problem is a 400. */
export const parseFileQuery = (
  ownerId: string,
  params: Readonly<Record<string, string | undefined>>,
  cursorKey: Buffer,
): FileQuery => {
  for (const name of Object.keys(params)) {
    if (!PARAMS.has(name))
      throw new HttpError('BAD_REQUEST', `${name}: is not a parameter of GET /files`);
  }
  const { status, contentType, q, createdFrom, createdTo, sort, limit, cursor } = params;
  if (status !== undefined && !isFileStatus(status)) {
    throw new HttpError('BAD_REQUEST', `status: ${JSON.stringify(status)} is not a file status`);
  }
  if (status === 'DELETED') {
    // A deleted file is gone for its owner: GET /files/{fileId} answers 404, and so the list.
    throw new HttpError('BAD_REQUEST', 'status: deleted files are not listed');
  }
  let type: string | undefined;
  if (contentType !== undefined) {
    const family = /^([a-z0-9][a-z0-9!#$&^_.+-]{0,126})\/\*$/i.exec(contentType);
    type = family ? `${family[1]?.toLowerCase()}/*` : normaliseContentType(contentType);
    if (type === undefined) {
      throw new HttpError(
        'BAD_REQUEST',
        `contentType: ${JSON.stringify(contentType)} is neither a type nor a family like image/*`,
      );
    }
  }
  if (q !== undefined && (q.length < 1 || q.length > 255)) {
    throw new HttpError('BAD_REQUEST', 'q: must be 1 to 255 characters long');
  }
  const from = createdFrom === undefined ? undefined : parseDate('createdFrom', createdFrom);
  const to = createdTo === undefined ? undefined : parseDate('createdTo', createdTo);
  if (from && to && from > to)
    throw new HttpError('BAD_REQUEST', 'createdFrom: is after createdTo');
  if (sort !== undefined && !(SORT_KEYS as readonly string[]).includes(sort)) {
    throw new HttpError('BAD_REQUEST', `sort: must be one of ${SORT_KEYS.join(', ')}`);
  }
  let pageSize = DEFAULT_LIMIT;
  if (limit !== undefined) {
    pageSize = /^\d{1,3}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(pageSize >= 1 && pageSize <= MAX_LIMIT)) {
      throw new HttpError('BAD_REQUEST', `limit: must be a whole number from 1 to ${MAX_LIMIT}`);
    }
  }
  const base = {
    ownerId,
    ...(status !== undefined && { status }),
    ...(type !== undefined && { contentType: type }),
    ...(q !== undefined && { filenamePrefix: q }),
    ...(from && { createdFrom: from }),
    ...(to && { createdTo: to }),
    sort: (sort ?? DEFAULT_SORT) as SortKey,
  };
  return {
    ...base,
    limit: pageSize,
    ...(cursor !== undefined && { after: decodeCursor(cursorKey, base, cursor) }),
  };
};
