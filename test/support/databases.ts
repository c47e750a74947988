import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type DatabaseHandle, openDatabase } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';

export type TestDriver = 'pg' | 'pglite';

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

/** A fresh, migrated database of its own for one test file, on the given driver. */
export const openTestDatabase = async (driver: TestDriver): Promise<DatabaseHandle> => {
  if (driver === 'pglite') {
    const handle = await openDatabase({ driver: 'pglite' });
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
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
};
