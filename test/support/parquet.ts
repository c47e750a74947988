import { DuckDBInstance } from '@duckdb/node-api';

/** A Parquet file as DuckDB reads it: column types, and every value as DuckDB's text. */
export interface ReadBack {
  readonly types: Record<string, string>;
  readonly rows: (string | null)[][];
}

/**
 * Reads a Parquet file back with DuckDB, the reference reader of these tests: each column's
 * type as DuckDB sees it and every value cast to text, in `orderBy` order.
 */
export const readParquet = async (
  path: string | readonly string[],
  orderBy = '1',
): Promise<ReadBack> => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const paths = (Array.isArray(path) ? path : [path]).map((p) => `'${p.replaceAll("'", "''")}'`);
    const source = `read_parquet([${paths.join(', ')}], union_by_name = true)`;
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const types: Record<string, string> = {};
    const names: string[] = [];
    for (const [name, type] of described.getRows()) {
      types[String(name)] = String(type);
      names.push(String(name));
    }
    const casts = names.map((n) => `CAST("${n}" AS VARCHAR)`).join(', ');
    const result = await connection.runAndReadAll(
      `SELECT ${casts} FROM ${source} ORDER BY ${orderBy}`,
    );
    return {
      types,
      rows: result.getRows().map((row) => row.map((v) => (v === null ? null : String(v)))),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
};

/**
 * An `open` callback over a buffer, in chunks of `size` bytes, counting how often it was called
 * and how many bytes were taken from it.
 */
export const opener = (data: Buffer, size = 64 * 1024) => {
  const open = async (): Promise<AsyncIterable<Uint8Array>> => {
    open.calls++;
    return (async function* () {
      for (let at = 0; at < data.length; at += size) {
        open.bytesRead += Math.min(size, data.length - at);
        yield data.subarray(at, at + size);
      }
    })();
  };
  open.calls = 0;
  open.bytesRead = 0;
  return open;
};
