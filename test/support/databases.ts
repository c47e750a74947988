import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type DatabaseHandle, openDatabase } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { credentialsOf, type DataApiServerOptions, startDataApiServer } from './data-api-server.ts';

export type TestDriver = 'pg' | 'pglite' | 'data-api';

/** The cluster and secret the Data API double answers for in tests. */
export const TEST_CLUSTER_ARN = 'arn:aws:rds:us-east-1:000000000000:cluster:syncflow-test';
export const TEST_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:syncflow-test';

/** An empty database of its own on the test PostgreSQL server; returns its URL. */
export const createTestDatabase = async (): Promise<{
  url: string;
  name: string;
  serverUrl: string;
}> => {
  const serverUrl = inject('postgresUrl');
  const name = `syncflow_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, serverUrl };
};

const dropDatabase = async (serverUrl: string, name: string): Promise<void> => {
  const cleanup = new pg.Client({ connectionString: serverUrl });
  await cleanup.connect();
  await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await cleanup.end();
};

/**
 * A fresh database on the test server reached through the RDS Data API double, with the Data
 * API driver the functions use in AWS; `options` change the double's behaviour.
 */
export const openDataApiTestDatabase = async (
  options: Partial<DataApiServerOptions> = {},
): Promise<DatabaseHandle & { server: Awaited<ReturnType<typeof startDataApiServer>> }> => {
  const { name, serverUrl } = await createTestDatabase();
  const server = await startDataApiServer({
    postgresUrl: serverUrl,
    clusterArn: TEST_CLUSTER_ARN,
    secrets: { [TEST_SECRET_ARN]: credentialsOf(serverUrl) },
    ...options,
  });
  const handle = await openDatabase({
    driver: 'data-api',
    resourceArn: TEST_CLUSTER_ARN,
    secretArn: TEST_SECRET_ARN,
    database: name,
    client: server.client(),
    retryDelayMs: { first: 20, max: 100 },
  });
  return {
    ...handle,
    server,
    close: async () => {
      await handle.close();
      await server.stop();
      await dropDatabase(serverUrl, name);
    },
  };
};

/** A fresh, migrated database of its own for one test file, on the given driver. */
export const openTestDatabase = async (driver: TestDriver): Promise<DatabaseHandle> => {
  if (driver === 'pglite') {
    const handle = await openDatabase({ driver: 'pglite' });
    await migrate(handle.db);
    return handle;
  }
  if (driver === 'data-api') {
    const handle = await openDataApiTestDatabase();
    await migrate(handle.db);
    return handle;
  }
  const { url, name, serverUrl } = await createTestDatabase();
  const handle = await openDatabase({ driver: 'pg', connectionString: url });
  await migrate(handle.db);
  return {
    ...handle,
    close: async () => {
      await handle.close();
      await dropDatabase(serverUrl, name);
    },
  };
};
