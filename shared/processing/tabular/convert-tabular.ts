import { rm } from 'node:fs/promises';
import { defaultEngineSettings, type EngineSettings } from '../duckdb-engine.ts';
import { type ColumnType, describeType, glueType } from './column-types.ts';
import type { TabularFormat } from './dialect.ts';
import { type DatasetSchema, type Evolution, evolveSchema } from './evolve-schema.ts';
import {
  type InspectOptions,
  inspectTabular,
  type MalformedRows,
  type OpenBody,
  type Preview,
} from './inspect-tabular.ts';
import { type WrittenParquet, writeTabularParquet } from './write-parquet.ts';

/** One column as the file's record shows it. */
export interface ColumnSummary {
  readonly name: string;
  readonly sqlName: string;
  /** `integer`, `decimal(10,2)`, `timestamp with time zone`, … */
  readonly type: string;
  /** The column's type in the dataset's table (Hive DDL names). */
  readonly tableType: string;
  readonly nullable: boolean;
  readonly nullCount: number;
  readonly min: string | null;
  readonly max: string | null;
}

/** What the record of a tabular file shows: JSON, bounded in size by the limits. */
export interface TabularSummary {
  readonly format: TabularFormat;
  readonly delimiter?: string;
  readonly header?: boolean;
  readonly encoding: string;
  readonly compression: 'gzip' | 'none';
  readonly rowCount: number;
  readonly columns: readonly ColumnSummary[];
  readonly malformed: MalformedRows;
  readonly preview: Preview;
}

export type TabularOutcome =
  | {
      readonly status: 'PROCESSED';
      readonly summary: TabularSummary;
      readonly parquet: WrittenParquet;
      /** The dataset's schema with this file in it; `changed` says the table must be updated. */
      readonly dataset: Extract<Evolution, { ok: true }>;
    }
  | {
      readonly status: 'REJECTED';
      readonly reason: string;
      readonly malformed?: MalformedRows;
      /** What a library said, for the log only. */
      readonly cause?: unknown;
    };

export interface ConvertTabularOptions extends InspectOptions {
  /** The dataset's current columns (from its table), or undefined for a new dataset. */
  readonly dataset?: DatasetSchema;
  /** Where the Parquet file is written (the caller uploads it). */
  readonly outPath: string;
  readonly engine?: EngineSettings;
}

/**
 * A tabular file to Parquet, as one pipeline step: {@link inspectTabular} reads it once (schema from
 * the whole file, malformed rows, preview, a spill file of the good rows), {@link evolveSchema}
 * fits it into its dataset, {@link writeTabularParquet} writes the rows in the dataset's types.
 * The user's mistakes end `REJECTED` with a reason; the spill file is removed in every case.
 *
 * The caller provides `open` (the object's body from its start; called once, or twice for a file
 * that turns out not to be UTF-8 after its first 64 KiB), a scratch directory with room for the
 * decompressed file plus its Parquet, and the dataset's current schema.
 */
export const convertTabular = async (
  open: OpenBody,
  options: ConvertTabularOptions,
): Promise<TabularOutcome> => {
  const inspected = await inspectTabular(open, options);
  try {
    if (inspected.status === 'REJECTED') return inspected;
    const evolution = evolveSchema(
      options.dataset,
      inspected.columns.map((c) => ({ sqlName: c.sqlName, type: c.type })),
    );
    if (!evolution.ok) {
      return { status: 'REJECTED', reason: evolution.reason, malformed: inspected.malformed };
    }
    const target = new Map<string, ColumnType>(evolution.schema.map((c) => [c.sqlName, c.type]));
    const parquet = await writeTabularParquet(
      inspected,
      options.outPath,
      options.engine ?? defaultEngineSettings(options.scratchDir),
      target,
    );
    const stats = new Map(parquet.columns.map((c) => [c.sqlName, c]));
    const dialect = inspected.dialect;
    return {
      status: 'PROCESSED',
      summary: {
        format: dialect.format,
        ...(dialect.format === 'csv' && { delimiter: dialect.delimiter, header: dialect.header }),
        encoding: inspected.encoding,
        compression: inspected.compression,
        rowCount: inspected.rowCount,
        columns: inspected.columns.map((c) => ({
          name: c.name,
          sqlName: c.sqlName,
          type: describeType(c.type),
          tableType: glueType(target.get(c.sqlName) ?? c.type),
          nullable: c.nullable,
          nullCount: c.nullCount,
          min: stats.get(c.sqlName)?.min ?? null,
          max: stats.get(c.sqlName)?.max ?? null,
        })),
        malformed: inspected.malformed,
        preview: inspected.preview,
      },
      parquet,
      dataset: evolution,
    };
  } finally {
    if (inspected.status === 'INSPECTED')
      await rm(inspected.spill.dir, { recursive: true, force: true });
  }
};
