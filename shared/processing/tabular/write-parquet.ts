import { stat } from 'node:fs/promises';
import { type EngineSettings, sqlIdentifier, sqlString, withDuckDb } from '../duckdb-engine.ts';
import { type ColumnType, duckdbType, sameType } from './column-types.ts';
import { NULL_MARKERS } from './csv-records.ts';
import type { ColumnSchema, InspectedTable } from './inspect-tabular.ts';

/**
 * Rows per Parquet row group: DuckDB's own default (122,880). A million rows a group (fewer,
 * larger column chunks for Athena's readers) doubled the write time here, as DuckDB then
 * finishes each group in one thread; see docs/benchmarks.md.
 */
export const ROW_GROUP_ROWS = 122_880;

/** What a column of the written Parquet file holds. */
export interface ColumnStats {
  readonly sqlName: string;
  readonly nullCount: number;
  /** Smallest and largest values as text (strings cut to 100 characters); null without values. */
  readonly min: string | null;
  readonly max: string | null;
}

export interface WrittenParquet {
  readonly path: string;
  readonly bytes: number;
  readonly rowCount: number;
  readonly columns: readonly ColumnStats[];
}

const STATS_COLUMNS_PER_QUERY = 200;
/** DuckDB's own default for the longest line; its read buffers are 16 times this by default. */
const DEFAULT_MAX_LINE_BYTES = 2 * 1024 * 1024;

/**
 * Timestamps with a zone are stored as the UTC instant without one: Athena reads a Hive
 * `timestamp` column either way, and then shows the same text whatever wrote the file, while the
 * emulator's DuckDB would print a zoned Parquet timestamp with a `+00:00` of its own.
 */
const storedAs = (type: ColumnType): string =>
  type.kind === 'timestamp' && type.withZone ? '::TIMESTAMP' : '';

const textOf = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/**
 * The second pass: DuckDB reads the spill file of {@link inspectTabular} with the inferred types
 * (no detection of its own, so it reads exactly the rows and types the first pass accepted) and
 * writes one snappy-compressed Parquet file. `target` gives each column's type in the dataset when
 * it was widened there (integer written as double); by default the file's own types are written.
 * Then min, max and null count of every column are read back from the Parquet file.
 * A row count that differs from the first pass's is our bug and throws.
 */
export const writeTabularParquet = async (
  table: InspectedTable,
  outPath: string,
  engine: EngineSettings,
  target: ReadonlyMap<string, ColumnType> = new Map(),
): Promise<WrittenParquet> => {
  const columns = table.columns;
  const readColumns = columns
    .map((c, i) => `${sqlString(`c${i}`)}: ${sqlString(duckdbType(c.type))}`)
    .join(', ');
  const select = columns
    .map((c, i) => {
      const wanted = target.get(c.sqlName) ?? c.type;
      const source = sqlIdentifier(`c${i}`);
      return `${sameType(wanted, c.type) ? source : `CAST(${source} AS ${duckdbType(wanted)})`}${storedAs(wanted)} AS ${sqlIdentifier(c.sqlName)}`;
    })
    .join(', ');
  // A row of up to 4 UTF-8 bytes a character; buffers only as large as that row needs.
  const maxLine = Math.max(DEFAULT_MAX_LINE_BYTES, table.spill.longestRow * 4 + 64);
  const bufferSize = Math.max(16 * DEFAULT_MAX_LINE_BYTES, 2 * maxLine);
  const read = `read_csv([${table.spill.paths.map(sqlString).join(', ')}], header = false, auto_detect = false, delim = ${sqlString(table.spill.delimiter)}, quote = '"', escape = '"', nullstr = [${NULL_MARKERS.map(sqlString).join(', ')}], allow_quoted_nulls = false, null_padding = ${table.spill.ragged}, max_line_size = ${maxLine}, buffer_size = ${bufferSize}, columns = {${readColumns}})`;
  return withDuckDb(engine, async (connection) => {
    const copied = await connection.run(
      `COPY (SELECT ${select} FROM ${read}) TO ${sqlString(outPath)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
    );
    const written = Number(copied.rowsChanged);
    if (written !== table.rowCount) {
      throw new Error(
        `DuckDB wrote ${written} rows where the inspection pass accepted ${table.rowCount}`,
      );
    }
    const stats: ColumnStats[] = [];
    for (let from = 0; from < columns.length; from += STATS_COLUMNS_PER_QUERY) {
      const part: readonly ColumnSchema[] = columns.slice(from, from + STATS_COLUMNS_PER_QUERY);
      const expressions = part.flatMap((c) => {
        const id = sqlIdentifier(c.sqlName);
        const text = (e: string): string =>
          c.type.kind === 'string' ? `left(${e}, 100)` : `CAST(${e} AS VARCHAR)`;
        return [`count(${id})`, text(`min(${id})`), text(`max(${id})`)];
      });
      const result = await connection.runAndReadAll(
        `SELECT ${expressions.join(', ')} FROM read_parquet(${sqlString(outPath)})`,
      );
      const row = result.getRows()[0] ?? [];
      part.forEach((c, k) => {
        const nullCount = table.rowCount - Number(row[k * 3] ?? 0);
        // DuckDB reads a value it cannot cast as null: a value the first pass accepted and DuckDB
        // did not would be lost without a word, so it fails the file instead (our bug to fix).
        if (nullCount !== c.nullCount) {
          throw new Error(
            `Column ${c.sqlName}: DuckDB read ${nullCount} nulls where the first pass read ${c.nullCount}`,
          );
        }
        stats.push({
          sqlName: c.sqlName,
          nullCount,
          min: textOf(row[k * 3 + 1]),
          max: textOf(row[k * 3 + 2]),
        });
      });
    }
    const { size } = await stat(outPath);
    return { path: outPath, bytes: size, rowCount: written, columns: stats };
  });
};
