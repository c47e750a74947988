import type { FileStatus } from './file-record.ts';

export const SORT_KEYS = [
  'createdAt',
  '-createdAt',
  'size',
  '-size',
  'filename',
  '-filename',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const DEFAULT_SORT: SortKey = '-createdAt';
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/** Where the previous page ended: the sort field's value and the file id that breaks ties. */
export interface PageAfter {
  readonly value: string | number;
  readonly fileId: string;
}

/** A validated `GET /files` query for one owner. */
export interface FileQuery {
  readonly ownerId: string;
  readonly status?: FileStatus;
  /** Exact type, or `image/*` for a whole family. */
  readonly contentType?: string;
  /** Case-insensitive filename prefix. */
  readonly filenamePrefix?: string;
  readonly createdFrom?: Date;
  readonly createdTo?: Date;
  readonly sort: SortKey;
  readonly limit: number;
  readonly after?: PageAfter;
}
