import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';

const ROWS = 1_000_000;

/**
 * `parquet-writers`: the Parquet writers considered for the data function, on the same million
 * rows of eight typed columns (integer, string, decimal, double, boolean, date, timestamp,
 * string), each writing snappy Parquet: hyparquet-writer (pure JavaScript) from column arrays
 * already in memory, and DuckDB reading the rows as CSV text with declared types, which is what
 * the function does. Median of 3 runs each, in turns. parquet-wasm was not tried: it writes
 * from Arrow tables, so the rows would first have to be built as Arrow in JavaScript.
 */
export const benchParquetWriters = async (): Promise<Record<string, unknown>> => {
  const ids: bigint[] = [];
  const users: string[] = [];
  const amounts: bigint[] = [];
  const scores: number[] = [];
  const active: boolean[] = [];
  const days: number[] = [];
  const times: bigint[] = [];
  const cities: string[] = [];
  const csv: string[] = [];
  const CITIES = ['Lisbon', 'Porto', 'Berlin'];
  for (let i = 0; i < ROWS; i++) {
    const user = `user-${(i * 7919) % 100_000}`;
    const cents = (i * 13) % 1_000_000;
    const score = Math.sin(i);
    const day = 19_000 + (i % 700);
    const us = 1_700_000_000_000_000 + i * 1_000_000;
    const city = CITIES[i % 3] ?? '';
    ids.push(BigInt(i));
    users.push(user);
    amounts.push(BigInt(cents));
    scores.push(score);
    active.push(i % 3 === 0);
    days.push(day);
    times.push(BigInt(us));
    cities.push(city);
    csv.push(
      `${i},${user},${(cents / 100).toFixed(2)},${score},${i % 3 === 0},${new Date(day * 86_400_000).toISOString().slice(0, 10)},${new Date(us / 1000).toISOString().replace('Z', '')},${city}`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'syncflow-writers-'));
  const csvPath = join(dir, 'rows.csv');
  await writeFile(csvPath, `${csv.join('\n')}\n`);
  const optional = 'OPTIONAL' as const;
  const hyparquet = (): number => {
    const started = performance.now();
    const writer = new ByteWriter();
    const parquet = new ParquetWriter({
      writer,
      codec: 'SNAPPY',
      statistics: false,
      schema: [
        { name: 'root', num_children: 8 },
        { name: 'id', type: 'INT64', repetition_type: optional },
        { name: 'user', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: optional },
        {
          name: 'amount',
          type: 'INT64',
          converted_type: 'DECIMAL',
          scale: 2,
          precision: 18,
          repetition_type: optional,
        },
        { name: 'score', type: 'DOUBLE', repetition_type: optional },
        { name: 'active', type: 'BOOLEAN', repetition_type: optional },
        { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: optional },
        {
          name: 'at',
          type: 'INT64',
          converted_type: 'TIMESTAMP_MICROS',
          repetition_type: optional,
        },
        { name: 'city', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: optional },
      ],
    });
    parquet.write({
      columnData: [
        { name: 'id', data: ids },
        { name: 'user', data: users },
        { name: 'amount', data: amounts },
        { name: 'score', data: scores },
        { name: 'active', data: active },
        { name: 'day', data: days },
        { name: 'at', data: times },
        { name: 'city', data: cities },
      ],
      rowGroupSize: 122_880,
    });
    parquet.finish();
    return performance.now() - started;
  };
  const duckdb = async (): Promise<number> => {
    const started = performance.now();
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT * FROM read_csv('${csvPath}', header = false, auto_detect = false, columns = {'id': 'BIGINT', 'user': 'VARCHAR', 'amount': 'DECIMAL(18,2)', 'score': 'DOUBLE', 'active': 'BOOLEAN', 'day': 'DATE', 'at': 'TIMESTAMP', 'city': 'VARCHAR'})) TO '${join(dir, 'out.parquet')}' (FORMAT parquet, COMPRESSION snappy)`,
    );
    connection.closeSync();
    instance.closeSync();
    return performance.now() - started;
  };
  const a: number[] = [];
  const b: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      a.push(hyparquet());
      b.push(await duckdb());
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[1] ?? 0;
  return {
    bench: 'parquet-writers',
    rows: ROWS,
    hyparquet_writer_ms: Math.round(median(a)),
    duckdb_from_csv_ms: Math.round(median(b)),
    ratio: Number((median(a) / median(b)).toFixed(2)),
    note: 'hyparquet-writer time over DuckDB time for the same rows; no goal',
  };
};
