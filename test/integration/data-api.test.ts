import { ExecuteStatementCommand } from '@aws-sdk/client-rds-data';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '#shared/adapters/db/connect.ts';
import { MIGRATION_RETRY_ON, rowsOf } from '#shared/adapters/db/data-api.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import {
  credentialsOf,
  type DataApiServer,
  startDataApiServer,
} from '../support/data-api-server.ts';
import {
  openDataApiTestDatabase,
  TEST_CLUSTER_ARN,
  TEST_SECRET_ARN,
} from '../support/databases.ts';

type Handle = Awaited<ReturnType<typeof openDataApiTestDatabase>>;

/**
 * The RDS Data API double against real PostgreSQL, and the driver and migrator through it: the
 * behaviours of the service that broke or could break SyncFlow in AWS.
 */
describe('the Data API double and the driver through it', () => {
  let handle: Handle;
  let server: DataApiServer;
  let database: string;

  /** A raw call, as the SDK sends it, to see the service's own answer. */
  const execute = (sql: string, extra: Record<string, unknown> = {}) =>
    server.client().send(
      new ExecuteStatementCommand({
        resourceArn: TEST_CLUSTER_ARN,
        secretArn: TEST_SECRET_ARN,
        database,
        sql,
        ...extra,
      }),
    );

  beforeAll(async () => {
    handle = await openDataApiTestDatabase({ statementTimeoutMs: 400, transactionIdleMs: 300 });
    server = handle.server;
    database = String(
      (await handle.db.query<{ d: string }>('SELECT current_database() AS d'))[0]?.d,
    );
    await migrate(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it('binds a string parameter as character varying: uuid columns need a cast or a typeHint', async () => {
    const sql = 'SELECT file_id FROM files WHERE file_id = :id';
    const id = { name: 'id', value: { stringValue: '0f8fad5b-d9cb-469f-a165-70867728950e' } };
    await expect(execute(sql, { parameters: [id] })).rejects.toMatchObject({
      name: 'DatabaseErrorException',
      message: expect.stringMatching(/operator does not exist: uuid = character varying/),
    });
    await expect(
      execute(sql, { parameters: [{ ...id, typeHint: 'UUID' }] }),
    ).resolves.toBeDefined();
    await expect(execute(`${sql}::uuid`, { parameters: [id] })).resolves.toBeDefined();
  });

  it('refuses result columns of types it does not return, such as void and regtype', async () => {
    await expect(execute('SELECT pg_advisory_xact_lock(1)')).rejects.toMatchObject({
      name: 'UnsupportedResultException',
      message: expect.stringMatching(/unsupported data type void/),
    });
    await expect(execute("SELECT 'int4'::regtype AS t")).rejects.toMatchObject({
      name: 'UnsupportedResultException',
    });
    // The migrator's own lock statement answers an integer.
    await expect(
      execute('SELECT 1 AS locked FROM pg_advisory_xact_lock(1)'),
    ).resolves.toBeDefined();
  });

  it('formats records as JSON for SELECT only; the driver reads a RETURNING write either way', async () => {
    const repository = new FileRepository(handle.db);
    const file = await repository.createPending({
      fileId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      ownerId: 'json-owner',
      filename: 'a.txt',
      contentType: 'text/plain',
      size: 1,
      checksumSha256: null,
      bucket: 'b',
      key: 'uploads/json-owner/7c9e6679-7425-40de-944b-e07fc1f90ae7',
      uploadExpiresAt: new Date(Date.now() + 60_000),
    });
    const select = await execute('SELECT file_id, size FROM files WHERE owner_id = :o', {
      parameters: [{ name: 'o', value: { stringValue: 'json-owner' } }],
      formatRecordsAs: 'JSON',
    });
    expect(JSON.parse(select.formattedRecords ?? '')).toEqual([{ file_id: file.fileId, size: 1 }]);
    const update =
      "UPDATE files SET reason = 'x' WHERE owner_id = 'json-owner' RETURNING file_id, reason";
    const write = await execute(update, { formatRecordsAs: 'JSON', includeResultMetadata: true });
    // JSON was asked for and ignored: a reader of formattedRecords alone would see no rows.
    expect(write.formattedRecords).toBeUndefined();
    expect(write.records).toHaveLength(1);
    expect(rowsOf(update, write)).toEqual([{ file_id: file.fileId, reason: 'x' }]);
    // The other reading: the rows come as JSON. The driver reads them the same.
    const other = await openDataApiTestDatabase({ formatReturningAsJson: true });
    try {
      await migrate(other.db);
      const otherName = String(
        (await other.db.query<{ d: string }>('SELECT current_database() AS d'))[0]?.d,
      );
      const sent = await other.server.client().send(
        new ExecuteStatementCommand({
          resourceArn: TEST_CLUSTER_ARN,
          secretArn: TEST_SECRET_ARN,
          database: otherName,
          sql: "INSERT INTO settings (name, value) VALUES ('k', 'v') RETURNING name, value",
          formatRecordsAs: 'JSON',
        }),
      );
      expect(sent.records).toBeUndefined();
      expect(rowsOf('INSERT … RETURNING name, value', sent)).toEqual([{ name: 'k', value: 'v' }]);
      // Through the driver, on this double too, a RETURNING write answers its row.
      expect(
        await other.db.query("UPDATE settings SET value = 'w' WHERE name = 'k' RETURNING value"),
      ).toEqual([{ value: 'w' }]);
    } finally {
      await other.close();
    }
  });

  it('fails loudly on an answer without records to a statement that returns rows', () => {
    expect(() => rowsOf('UPDATE files SET reason = NULL RETURNING file_id', {})).toThrow(
      /without records/,
    );
    expect(rowsOf('UPDATE files SET reason = NULL', {})).toEqual([]);
    expect(() =>
      rowsOf('SELECT 1 AS a', { records: [[{ longValue: 1 }]], columnMetadata: [] }),
    ).toThrow(/1 fields came with 0 columns/);
  });

  it('returns the types the repository reads: text, bigint, jsonb, UTC timestamps, arrays, bytea', async () => {
    const rows = await handle.db.query(
      `SELECT 'Zoë'::text AS t, 9007199254740991::bigint AS n, '{"a":[1]}'::jsonb AS j,
         '2026-11-29 11:00:00.123+01'::timestamptz AS at, ARRAY[1, 2]::int4[] AS xs,
         '\\x0102'::bytea AS b, NULL::text AS nothing, true AS yes, 1.5::float8 AS f`,
    );
    expect(rows[0]).toMatchObject({
      t: 'Zoë',
      n: 9007199254740991,
      j: '{"a": [1]}',
      at: '2026-11-29 10:00:00.123',
      xs: [1, 2],
      nothing: null,
      yes: true,
      f: 1.5,
    });
    expect([...((rows[0]?.b as Buffer | undefined) ?? [])]).toEqual([1, 2]);
  });

  it('stops a call after 64 KB in a row or 1 MiB in a response', async () => {
    await expect(execute("SELECT repeat('x', 70000) AS big")).rejects.toMatchObject({
      name: 'BadRequestException',
      message: 'Packet for query is too large',
    });
    await expect(
      execute("SELECT repeat('x', 60000) AS part FROM generate_series(1, 20)"),
    ).rejects.toMatchObject({
      name: 'BadRequestException',
      message: expect.stringMatching(/response size limit/),
    });
  });

  it('stops a statement at the call timeout unless told to continue after it', async () => {
    await expect(execute('SELECT 1 AS x FROM pg_sleep(1.5)')).rejects.toMatchObject({
      name: 'StatementTimeoutException',
    });
    await expect(
      execute('CREATE TABLE slow_made AS SELECT 1 AS x FROM pg_sleep(0.8)', {
        continueAfterTimeout: true,
      }),
    ).rejects.toMatchObject({ name: 'StatementTimeoutException' });
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(await handle.db.query('SELECT x FROM slow_made')).toEqual([{ x: 1 }]);
    // The stopped one is gone from the server, not left running.
    const running = await handle.db.query(
      "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT 1 AS x FROM pg_sleep(1.5)%' AND state = 'active'",
    );
    expect(running).toEqual([]);
  });

  it('applies a migration marked non-transactional whose statement outlasts the call timeout', async () => {
    const slow = {
      id: '9999_slow_index',
      transactional: false,
      statements: [
        'CREATE TABLE IF NOT EXISTS slow_table AS SELECT g AS n FROM generate_series(1, 10) AS g, pg_sleep(0.8)',
        'CREATE INDEX IF NOT EXISTS slow_table_n ON slow_table (n)',
      ],
    };
    expect(await migrate(handle.db, [...MIGRATIONS, slow], { pollMs: 50 })).toEqual([
      '9999_slow_index',
    ]);
    expect(await handle.db.query('SELECT count(*)::int AS c FROM slow_table')).toEqual([{ c: 10 }]);
    expect(await migrate(handle.db, [...MIGRATIONS, slow], { pollMs: 50 })).toEqual([]);
  });

  it('keeps transactions by id, rolls back one left idle, and ends one whose statement failed', async () => {
    await handle.db.query('CREATE TABLE IF NOT EXISTS tx_test (n int)');
    await handle.db.transaction((tx) => tx.query('INSERT INTO tx_test VALUES (1)'));
    await expect(
      handle.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_test VALUES (2)');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expect(
      handle.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_test VALUES (3)');
        await new Promise((resolve) => setTimeout(resolve, 600));
        await tx.query('INSERT INTO tx_test VALUES (4)');
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/Transaction .* is not found/) });
    await expect(
      handle.db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_test VALUES (5)');
        await tx.query('INSERT INTO no_such_table VALUES (1)').catch(() => {});
        await tx.query('INSERT INTO tx_test VALUES (6)');
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/is not found/) });
    expect(await handle.db.query('SELECT n FROM tx_test ORDER BY n')).toEqual([{ n: 1 }]);
    expect(server.openTransactions()).toBe(0);
  });

  it('retries a resuming or unavailable database, within the budget, outside transactions', async () => {
    server.inject('DatabaseResumingException', 3);
    expect(await handle.db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    server.inject('DatabaseUnavailableException', 1);
    expect(await handle.db.transaction((tx) => tx.query('SELECT 2 AS two'))).toEqual([{ two: 2 }]);
    server.inject('DatabaseResumingException', 1000);
    const started = Date.now();
    const tight = await openDatabase({
      driver: 'data-api',
      resourceArn: TEST_CLUSTER_ARN,
      secretArn: TEST_SECRET_ARN,
      database,
      client: server.client(),
      retryBudgetMs: 300,
      retryDelayMs: { first: 50, max: 100 },
    });
    await expect(tight.db.query('SELECT 1 AS one')).rejects.toMatchObject({
      name: 'DatabaseResumingException',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("bounds retries by the invocation's remaining time, and waits out a missing database only for the migrator", async () => {
    const query = async (db: DatabaseHandle['db'], remainingMs: number) => {
      const deadline = Date.now() + remainingMs;
      // middy's own early timeout is off: the driver's bound is what is tested.
      return middy(() => db.query('SELECT 1 AS one'), { timeoutEarlyInMillis: 0 }).use(
        databaseDeadline(),
      )({}, { getRemainingTimeInMillis: () => deadline - Date.now() } as Context);
    };
    server.inject('DatabaseResumingException', 1000);
    const calls = () => server.calls['/Execute'] ?? 0;
    // 2.9 s left and 3 s kept back to answer: no room for a single retry.
    let before = calls();
    await expect(query(handle.db, 2_900)).rejects.toMatchObject({
      name: 'DatabaseResumingException',
    });
    expect(calls() - before).toBe(1);
    // 3.5 s left: retries for about half a second, then gives up in time to answer.
    before = calls();
    const started = Date.now();
    await expect(query(handle.db, 3_500)).rejects.toMatchObject({
      name: 'DatabaseResumingException',
    });
    expect(calls() - before).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(1_000);
    server.clearFaults();
    server.inject('DatabaseNotFoundException', 2);
    await expect(handle.db.query('SELECT 1 AS one')).rejects.toMatchObject({
      name: 'DatabaseNotFoundException',
    });
    const migrator = await openDatabase({
      driver: 'data-api',
      resourceArn: TEST_CLUSTER_ARN,
      secretArn: TEST_SECRET_ARN,
      database,
      client: server.client(),
      retryOn: MIGRATION_RETRY_ON,
      retryDelayMs: { first: 20, max: 50 },
    });
    expect(await migrate(migrator.db)).toEqual([]);
  });

  it('logs in as the role of the secret named, and refuses a secret it does not know', async () => {
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    await admin.query('DROP ROLE IF EXISTS syncflow_reader_test');
    await admin.query("CREATE ROLE syncflow_reader_test LOGIN PASSWORD 'reader-pw'");
    const roles = await startDataApiServer({
      postgresUrl: inject('postgresUrl'),
      clusterArn: TEST_CLUSTER_ARN,
      secrets: {
        [TEST_SECRET_ARN]: credentialsOf(inject('postgresUrl')),
        'arn:reader': { username: 'syncflow_reader_test', password: 'reader-pw' },
      },
    });
    try {
      const as = (secretArn: string) =>
        openDatabase({
          driver: 'data-api',
          resourceArn: TEST_CLUSTER_ARN,
          secretArn,
          database,
          client: roles.client(),
        });
      const reader = await as('arn:reader');
      expect(await reader.db.query('SELECT current_user AS u')).toEqual([
        { u: 'syncflow_reader_test' },
      ]);
      await expect(reader.db.query("DELETE FROM settings WHERE name = 'x'")).rejects.toMatchObject({
        name: 'DatabaseErrorException',
        message: expect.stringMatching(/permission denied/),
      });
      await expect((await as('arn:nobody')).db.query('SELECT 1 AS x')).rejects.toMatchObject({
        name: 'SecretsErrorException',
      });
    } finally {
      await roles.stop();
      await admin.end();
    }
  });
});
