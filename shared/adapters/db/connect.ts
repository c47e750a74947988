import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { type Schema, schema } from './schema.ts';

/** Any of the three drivers: every query is written once against this. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseConfig =
  | {
      readonly driver: 'data-api';
      readonly resourceArn: string;
      readonly secretArn: string;
      readonly database: string;
      readonly client?: RDSDataClient;
    }
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

/** Opens the configured database. Drivers are imported on demand so a bundle carries only its own. */
export const openDatabase = async (config: DatabaseConfig): Promise<DatabaseHandle> => {
  switch (config.driver) {
    case 'data-api': {
      const { drizzle } = await import('drizzle-orm/aws-data-api/pg');
      const { RDSDataClient } = await import('@aws-sdk/client-rds-data');
      const client = config.client ?? new RDSDataClient({});
      const db = drizzle(client, {
        schema,
        resourceArn: config.resourceArn,
        secretArn: config.secretArn,
        database: config.database,
      });
      return { db: db as unknown as Database, driver: config.driver, close: async () => {} };
    }
    case 'pg': {
      const { default: pg } = await import('pg');
      const { drizzle } = await import('drizzle-orm/node-postgres');
      const pool = new pg.Pool({
        connectionString: config.connectionString,
        max: config.maxConnections ?? 4,
      });
      const db = drizzle(pool, { schema });
      return { db: db as unknown as Database, driver: config.driver, close: () => pool.end() };
    }
    case 'pglite': {
      const { PGlite } = await import('@electric-sql/pglite');
      const { drizzle } = await import('drizzle-orm/pglite');
      const client = new PGlite(config.dataDir);
      const db = drizzle(client, { schema });
      return { db: db as unknown as Database, driver: config.driver, close: () => client.close() };
    }
  }
};
