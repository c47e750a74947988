import type { Pool, PoolClient } from 'pg';
import type { DataApiConfig } from './data-api.ts';
import { invocationTimeLeft } from './deadline.ts';

/** A value a query takes: JSON for `jsonb` columns is wrapped with `json()`. */
export type SqlValue = string | number | boolean | null | Date | SqlJson;

export class SqlJson {
  constructor(readonly value: unknown) {}
}

/** Marks a value to be stored as JSON (the SQL casts its parameter `::jsonb`). */
export const json = (value: unknown): SqlJson => new SqlJson(value);

/**
 * Any of the three drivers: every query is written once against this, as PostgreSQL text with
 * `$1…$n` parameters. Types are spelled in the SQL (`$1::uuid`, `$2::jsonb`, `$3::timestamptz`),
 * so each driver passes values as text and numbers and none needs type hints of its own.
 * Rows come back as objects by column name; each driver's types (int8 as text, timestamps as
 * text, jsonb as text) are made uniform by the reader (file-repository.ts).
 *
 * Written by hand rather than with an ORM: a query builder cost the API functions about a third
 * of bare client-s3's cold start (docs/benchmarks.md), and the queries are few.
 */
export interface Database {
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly SqlValue[],
    options?: QueryOptions,
  ): Promise<Row[]>;
  /** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(work: (tx: Database) => Promise<T>): Promise<T>;
}

/** How one statement runs; only the Data API driver has a choice to make. */
export interface QueryOptions {
  /**
   * The statement may outlast the Data API's call timeout (DDL on a large table): it keeps
   * running after the call times out (`continueAfterTimeout`) instead of being stopped.
   */
  readonly longRunning?: boolean;
}

export type DatabaseConfig =
  | ({ readonly driver: 'data-api' } & DataApiConfig)
  | { readonly driver: 'pg'; readonly connectionString: string; readonly maxConnections?: number }
  | { readonly driver: 'pglite'; readonly dataDir?: string };

export interface DatabaseHandle {
  readonly db: Database;
  readonly driver: DatabaseConfig['driver'];
  close(): Promise<void>;
}

/**
 * Which database to use, from the environment:
 * - `DB_CLUSTER_ARN`, `DB_SECRET_ARN`, `DB_NAME`: Aurora through the RDS Data API (AWS);
 * - `DATABASE_URL`: a PostgreSQL server through node-postgres (CI, the local stack);
 * - neither: PGlite, embedded, in memory or in `PGLITE_DIR`.
 */
export const databaseConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): DatabaseConfig => {
  if (env.DB_CLUSTER_ARN) {
    if (!env.DB_SECRET_ARN || !env.DB_NAME) {
      throw new Error('DB_CLUSTER_ARN is set, so DB_SECRET_ARN and DB_NAME must be set too');
    }
    return {
      driver: 'data-api',
      resourceArn: env.DB_CLUSTER_ARN,
      secretArn: env.DB_SECRET_ARN,
      database: env.DB_NAME,
    };
  }
  if (env.DATABASE_URL) return { driver: 'pg', connectionString: env.DATABASE_URL };
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    // An embedded database inside a function would silently lose every write.
    throw new Error('A function needs DB_CLUSTER_ARN (Data API) or DATABASE_URL; neither is set');
  }
  return env.PGLITE_DIR ? { driver: 'pglite', dataDir: env.PGLITE_DIR } : { driver: 'pglite' };
};

/** The client a transaction's work gets: its queries run inside it; transactions do not nest. */
const insideTransaction = (query: Database['query']): Database => ({
  query,
  transaction: () => Promise.reject(new Error('Transactions do not nest')),
});

/** A parameter as node-postgres and PGlite take it: text, numbers, booleans, null. */
const wire = (value: SqlValue): string | number | boolean | null => {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof SqlJson) return JSON.stringify(value.value);
  return value;
};

/** Opens the configured database. Drivers are imported on demand so a bundle carries only its own. */
/** Errors of a connection that was never made: no statement was sent, so trying again is safe. */
const REFUSED = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P03']);
/** Time kept back from the invocation's deadline to answer after the last try. */
const RESERVE_MS = 3_000;
/** How long connecting is retried outside an invocation (init, scripts). */
const CONNECT_BUDGET_MS = 10_000;

/**
 * A pooled connection, tried again while the server refuses connections (a restart, a failover,
 * an outage of seconds) for as long as the invocation has time, or 10 s outside one. Only the
 * connection is retried: a statement whose connection drops under it fails, since it may have
 * run, and its message comes back from the queue.
 */
const connectRetrying = async (pool: Pool): Promise<PoolClient> => {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await pool.connect();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !REFUSED.has(code)) throw error;
      const wait = Math.min(2_000, 200 * 2 ** attempt) * (0.75 + Math.random() / 4);
      const left = invocationTimeLeft();
      const room =
        left === undefined ? CONNECT_BUDGET_MS - (Date.now() - started) : left - RESERVE_MS;
      if (room < wait) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
};

export const openDatabase = async (config: DatabaseConfig): Promise<DatabaseHandle> => {
  switch (config.driver) {
    case 'data-api': {
      const { openDataApi } = await import('./data-api.ts');
      return { db: await openDataApi(config), driver: config.driver, close: async () => {} };
    }
    case 'pg': {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({
        connectionString: config.connectionString,
        max: config.maxConnections ?? 4,
      });
      // An idle connection the server closes (a restart, an outage) is reported here and left
      // out of the pool; unheard, the error would end the process.
      pool.on('error', () => {});
      const on =
        (client: Pool | PoolClient) =>
        async <Row>(text: string, params: readonly SqlValue[] = []): Promise<Row[]> =>
          (await client.query(text, params.map(wire))).rows as Row[];
      const connect = () => connectRetrying(pool);
      const db: Database = {
        query: async (text, params) => {
          const client = await connect();
          try {
            return await on(client)(text, params);
          } finally {
            client.release();
          }
        },
        transaction: async (work) => {
          const client = await connect();
          try {
            await client.query('BEGIN');
            const value = await work(insideTransaction(on(client)));
            await client.query('COMMIT');
            return value;
          } catch (error) {
            await client.query('ROLLBACK').catch(() => {});
            throw error;
          } finally {
            client.release();
          }
        },
      };
      return { db, driver: config.driver, close: () => pool.end() };
    }
    case 'pglite': {
      const { PGlite } = await import('@electric-sql/pglite');
      const client = new PGlite(config.dataDir);
      type Queryable = Pick<typeof client, 'query'>;
      const on =
        (target: Queryable) =>
        async <Row>(text: string, params: readonly SqlValue[] = []): Promise<Row[]> =>
          (await target.query<Row>(text, params.map(wire) as unknown[])).rows;
      const db: Database = {
        query: on(client),
        transaction: (work) => client.transaction((tx) => work(insideTransaction(on(tx)))),
      };
      return { db, driver: config.driver, close: () => client.close() };
    }
  }
};
