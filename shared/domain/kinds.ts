import { createHash } from 'node:crypto';
import { PROCESSABLE_IMAGE_TYPES } from './content-types.ts';

/**
 * What kind of processing a file gets. Each kind has its own function, queue, dead-letter queue,
 * memory, timeout and concurrency cap (infra/constructs/processing.ts), so a burst of one kind
 * never holds up another. Adding a kind: add it here, give it a pipeline folder under
 * shared/processing/, a handler under functions/ and an entry in the processing construct.
 */
export const FILE_KINDS = ['image', 'tabular', 'logs', 'other', 'video'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

export const isFileKind = (value: unknown): value is FileKind =>
  typeof value === 'string' && (FILE_KINDS as readonly string[]).includes(value);

const IMAGE_TYPES = new Set(PROCESSABLE_IMAGE_TYPES);
const TABULAR_TYPES = new Set([
  'text/csv',
  'text/tab-separated-values',
  'application/x-ndjson',
  'application/jsonl',
]);
const TABULAR_EXTENSIONS = new Set(['csv', 'tsv', 'tab', 'psv', 'ndjson', 'jsonl']);
const LOG_EXTENSIONS = new Set(['log']);
const MEDIA_EXTENSIONS = new Set([
  'mp4',
  'm4v',
  'mov',
  'webm',
  'mkv',
  'mp3',
  'm4a',
  'aac',
  'wav',
  'flac',
  'ogg',
  'oga',
  'ogv',
  'opus',
]);

/** The extension that says what the data is: `x.csv.gz` → `csv`, `access.log` → `log`. */
const dataExtension = (filename: string): string | undefined => {
  const parts = filename.toLowerCase().split('.');
  if (parts.length < 2) return undefined;
  let last = parts.pop();
  if ((last === 'gz' || last === 'gzip') && parts.length >= 2) last = parts.pop();
  return last;
};

/**
 * The kind a file gets when its upload request names none (documented in README "Kinds of
 * file"): image types are images; CSV, TSV and NDJSON types or names are tabular data; a `.log`
 * name (gzip-compressed or not) is a log; `video/*` and `audio/*` types, or a media file's name
 * sent as `application/octet-stream`, are video (the video workflow probes the bytes and
 * rejects what is not media); anything else is other. A JSON document is `other`
 * unless the request says `tabular`: a JSON file is as often a configuration as a table.
 */
export const defaultKind = (contentType: string, filename: string): FileKind => {
  if (IMAGE_TYPES.has(contentType)) return 'image';
  if (contentType.startsWith('video/') || contentType.startsWith('audio/')) return 'video';
  const extension = dataExtension(filename);
  if (
    contentType === 'application/octet-stream' &&
    extension !== undefined &&
    MEDIA_EXTENSIONS.has(extension)
  ) {
    return 'video';
  }
  if (extension !== undefined && LOG_EXTENSIONS.has(extension)) return 'logs';
  if (TABULAR_TYPES.has(contentType)) return 'tabular';
  if (extension !== undefined && TABULAR_EXTENSIONS.has(extension)) return 'tabular';
  return 'other';
};

/** A dataset name as stored: lower case letters, digits and `_`, starting with a letter. */
const DATASET = /^[a-z][a-z0-9_]{0,63}$/;

export const isDatasetName = (value: string): boolean => DATASET.test(value);

/**
 * A dataset name from what the uploader sent (or from the filename when it sent none):
 * lower-cased, every run of other characters one `_`, at most 64 characters, starting with a
 * letter (`2024 sales.csv` → `d_2024_sales`). Undefined when nothing usable is left.
 */
export const normaliseDatasetName = (raw: string): string | undefined => {
  let name = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') return undefined;
  if (!/^[a-z]/.test(name)) name = `d_${name}`;
  name = name.slice(0, 64).replace(/_+$/, '');
  return isDatasetName(name) ? name : undefined;
};

/** The default dataset of a file: its name without its data extensions. */
export const datasetFromFilename = (filename: string): string => {
  let base = filename;
  for (let i = 0; i < 2; i++) {
    const dot = base.lastIndexOf('.');
    if (dot <= 0) break;
    base = base.slice(0, dot);
  }
  return normaliseDatasetName(base) ?? 'data';
};

/**
 * A short, stable, identifier-safe token for an owner: owner ids are Cognito subs (with `-`) and
 * may be up to 128 characters, which is neither a valid Glue name part nor short enough. 80 bits
 * of SHA-256 keep owners apart.
 */
export const ownerToken = (ownerId: string): string =>
  createHash('sha256').update(ownerId, 'utf8').digest('hex').slice(0, 20);

/**
 * The Glue table (and analytics folder) of an owner's dataset: `ds_<owner token>_<dataset>`,
 * a valid Glue and Athena identifier (lower case, `[a-z0-9_]`, under 255 characters), unique per
 * owner and dataset. Who may query it is IAM's or Lake Formation's business (docs/analytics.md).
 */
export const datasetTable = (ownerId: string, dataset: string): string => {
  if (!isDatasetName(dataset)) throw new Error(`Invalid dataset name: ${JSON.stringify(dataset)}`);
  return `ds_${ownerToken(ownerId)}_${dataset}`;
};

/** The Glue table of an owner's logs of one format: `logs_<owner token>_<format>`. */
export const logTable = (ownerId: string, format: string): string => {
  const suffix = format.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  return `logs_${ownerToken(ownerId)}_${suffix}`;
};

/** The Glue database of a stage: one per stage, so two stages in one account never meet. */
export const analyticsDatabase = (stage: string): string =>
  `syncflow_${stage.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
