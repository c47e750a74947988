import type { LogSummary } from '../processing/logs/analyse-log.ts';
import type { TabularSummary } from '../processing/tabular/convert-tabular.ts';
import type { FileMetadata } from './file-record.ts';

/** Where a file's rows can be queried with Athena: the stage's Glue database and the table. */
export interface QueryableTable {
  readonly database: string;
  readonly table: string;
  /** `s3://bucket/analytics/.../`: the table's location. */
  readonly location: string;
  /** The partition this file's rows are in (`upload_date=…`), or the event dates of a log. */
  readonly partitions: readonly string[];
  /** The objects this file wrote under `analytics/`: removed with the file. */
  readonly objects: readonly string[];
}

/** A tabular file's record: the library's summary plus its dataset and table. */
export interface TabularRecordSummary extends TabularSummary {
  readonly dataset: string;
  readonly table: QueryableTable;
  /** Columns the file added to the dataset's table, and columns it widened. */
  readonly added: readonly string[];
  readonly widened: readonly string[];
  /** Set when preview rows or columns were left out to keep the record small. */
  readonly truncated?: true;
}

/** A log file's record: the library's summary plus the table its records are in. */
export interface LogRecordSummary extends LogSummary {
  readonly table: QueryableTable;
  /** Normalised records written (the parsed lines). */
  readonly rows: number;
}

/** The keys under `analytics/` a file's rows were written to (none for other kinds). */
export const analyticsObjects = (metadata: FileMetadata): string[] => [
  ...(metadata.tabular?.table.objects ?? []),
  ...(metadata.logs?.table.objects ?? []),
];
