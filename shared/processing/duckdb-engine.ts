import { availableParallelism } from 'node:os';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** What DuckDB may use while it writes Parquet inside a function. */
export interface EngineSettings {
  /** Worker threads (default: the cores the function has). */
  readonly threads: number;
  /** DuckDB's own memory ceiling; past it, it spills to `tempDirectory`. */
  readonly memoryLimitMb: number;
  /** Where DuckDB spills (in Lambda, under /tmp). */
  readonly tempDirectory: string;
}

export const defaultEngineSettings = (tempDirectory: string): EngineSettings => ({
  threads: Math.max(1, Math.min(availableParallelism(), 4)),
  memoryLimitMb: 256,
  tempDirectory,
});

/**
 * A function's engine settings: DuckDB's memory ceiling from the stage (the function's memory
 * less the Node.js heap), spilling under the run's scratch directory.
 */
export const analyticsEngine = (tempDirectory: string, memoryLimitMb: number): EngineSettings => ({
  ...defaultEngineSettings(tempDirectory),
  memoryLimitMb,
});

/** A SQL string literal. */
export const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** A SQL identifier. */
export const sqlIdentifier = (value: string): string => `"${value.replaceAll('"', '""')}"`;

/**
 * Runs `work` on a fresh in-memory DuckDB with the given ceilings, and closes it afterwards so its
 * memory goes back before the next file. Insertion order is not kept (rows keep their order
 * within a row group, which is all Parquet readers see), which lets DuckDB stream COPY.
 */
export const withDuckDb = async <T>(
  settings: EngineSettings,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> => {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(settings.threads),
    memory_limit: `${settings.memoryLimitMb}MB`,
    temp_directory: settings.tempDirectory,
    preserve_insertion_order: 'false',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  try {
    const connection = await instance.connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
};
