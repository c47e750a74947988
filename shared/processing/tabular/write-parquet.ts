import { stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
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
const zoned = (type: ColumnType): boolean => type.kind === 'timestamp' && type.withZone;

/** The cast that stores a column as {@link storedType} says (none for most types). */
const storedAs = (type: ColumnType): string => (zoned(type) ? '::TIMESTAMP' : '');

/** The DuckDB type of a column as the Parquet file stores it. */
const storedType = (type: ColumnType): string => (zoned(type) ? 'TIMESTAMP' : duckdbType(type));

const textOf = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** One column's null count, minimum and maximum; undefined where the footer lacks them. */
type Figures = { nullCount: number; min: string | null; max: string | null } | undefined;

/**
 * Null counts, minima and maxima of typed columns from the Parquet footer (each row group's
 * statistics, which DuckDB writes exactly for numbers, booleans, dates and timestamps) instead
 * of a read of every value. A column whose footer lacks a figure gets undefined.
 */
const footerStats = async (
  connection: DuckDBConnection,
  outPath: string,
  part: readonly { sqlName: string; stored: string }[],
): Promise<Figures[]> => {
  if (part.length === 0) return [];
  const selects = part.map(({ sqlName, stored }, k) => {
    const lo = `TRY_CAST(lo AS ${stored})`;
    const hi = `TRY_CAST(hi AS ${stored})`;
    // A row group with values but no minimum, or a minimum that does not read as the column's
    // type, means the footer cannot be used for this column.
    const gaps = `count(*) FILTER (WHERE n IS NULL OR (n < r AND (${lo} IS NULL OR ${hi} IS NULL)))`;
    return `SELECT ${k} AS k, sum(n) AS nulls, ${gaps} AS gaps, CAST(min(${lo}) AS VARCHAR) AS lo, CAST(max(${hi}) AS VARCHAR) AS hi FROM m WHERE p = ${sqlString(sqlName)}`;
  });
  const result = await connection.runAndReadAll(
    `WITH m AS (SELECT path_in_schema AS p, row_group_num_rows AS r, stats_null_count AS n, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata(${sqlString(outPath)})) ${selects.join(' UNION ALL ')}`,
  );
  const found: Figures[] = part.map(() => undefined);
  for (const [k, nulls, gaps, lo, hi] of result.getRows()) {
    if (Number(gaps) !== 0 || nulls === null) continue;
    found[Number(k)] = { nullCount: Number(nulls), min: textOf(lo), max: textOf(hi) };
  }
  return found;
};

/** Null counts, minima and maxima read from every value (text columns, and any the footer lacks). */
const scannedStats = async (
  connection: DuckDBConnection,
  outPath: string,
  part: readonly { sqlName: string; text: boolean }[],
  rowCount: number,
): Promise<Figures[]> => {
  if (part.length === 0) return [];
  const expressions = part.flatMap(({ sqlName, text }) => {
    const id = sqlIdentifier(sqlName);
    const shown = (e: string): string => (text ? `left(${e}, 100)` : `CAST(${e} AS VARCHAR)`);
    return [`count(${id})`, shown(`min(${id})`), shown(`max(${id})`)];
  });
  const result = await connection.runAndReadAll(
    `SELECT ${expressions.join(', ')} FROM read_parquet(${sqlString(outPath)})`,
  );
  const row = result.getRows()[0] ?? [];
  return part.map((_, k) => ({
    nullCount: rowCount - Number(row[k * 3] ?? 0),
    min: textOf(row[k * 3 + 1]),
    max: textOf(row[k * 3 + 2]),
  }));
};

/**
 * Min, max (text cut to 100 characters) and null count of every column of the written file:
 * from the footer for typed columns, from the values for text columns (whose footer figures
 * DuckDB cuts short) and for any column the footer lacks. A null count that differs from the
 * first pass's is our bug and throws: DuckDB reads a value it cannot cast as null, and a value
 * the first pass accepted and DuckDB did not would otherwise be lost without a word.
 */
const readStats = async (
  connection: DuckDBConnection,
  outPath: string,
  columns: readonly ColumnSchema[],
  target: ReadonlyMap<string, ColumnType>,
  rowCount: number,
): Promise<ColumnStats[]> => {
  const stats: ColumnStats[] = [];
  for (let from = 0; from < columns.length; from += STATS_COLUMNS_PER_QUERY) {
    const part = columns.slice(from, from + STATS_COLUMNS_PER_QUERY).map((c) => {
      const wanted = target.get(c.sqlName) ?? c.type;
      const stored = storedType(wanted);
      return { column: c, sqlName: c.sqlName, stored, text: wanted.kind === 'string' };
    });
    const typed = part.filter((c) => !c.text);
    const fromFooter = await footerStats(connection, outPath, typed);
    const footer = new Map(typed.map((c, k) => [c.sqlName, fromFooter[k]]));
    const scan = part.filter((c) => footer.get(c.sqlName) === undefined);
    const scanned = await scannedStats(connection, outPath, scan, rowCount);
    const read = new Map(scan.map((c, k) => [c.sqlName, scanned[k]]));
    for (const { column } of part) {
      const figures = footer.get(column.sqlName) ?? read.get(column.sqlName);
      if (figures === undefined) throw new Error(`Column ${column.sqlName}: no statistics read`);
      if (figures.nullCount !== column.nullCount) {
        throw new Error(
          `Column ${column.sqlName}: DuckDB read ${figures.nullCount} nulls where the first pass read ${column.nullCount}`,
        );
      }
      stats.push({ sqlName: column.sqlName, ...figures });
    }
  }
  return stats;
};

/**
 * The second pass: DuckDB reads the spill file of {@link inspectTabular} with the inferred types
 * (no detection of its own, so it reads exactly the rows and types the first pass accepted) and
 * writes one snappy-compressed Parquet file. `target` gives each column's type in the dataset when
 * it was widened there (integer written as double); by default the file's own types are written.
 * Then min, max and null count of every column are read back ({@link readStats}).
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
    const stats = await readStats(connection, outPath, columns, target, table.rowCount);
    const { size } = await stat(outPath);
    return { path: outPath, bytes: size, rowCount: written, columns: stats };
  });
};
