import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { setRolePasswords } from '#shared/adapters/db/role-passwords.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import { DB_ROLES } from '#shared/domain/db-roles.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { createTestDatabase } from '../support/databases.ts';

/**
 * Least privilege, on a real PostgreSQL server that checks passwords: each function role logs
 * in with its own password only, the reading role cannot change a row, and neither role can
 * change the schema. Only the migrator's admin login can.
 */
const passwords = {
  [DB_ROLES.read]: randomBytes(24).toString('hex'),
  [DB_ROLES.write]: randomBytes(24).toString('hex'),
};
let admin: DatabaseHandle;
let url: string;
let fileId: string;

/** A connection as one role, with the given password. */
const as = async (role: string, password: string) => {
  const login = new URL(url);
  login.username = role;
  login.password = password;
  const client = new pg.Client({ connectionString: login.toString() });
  await client.connect();
  return client;
};

/** The PostgreSQL error code a statement fails with (42501: insufficient privilege). */
const refusal = async (client: pg.Client, sql: string, params: unknown[] = []) => {
  try {
    await client.query(sql, params);
    return 'allowed';
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('database roles on a real PostgreSQL server', () => {
  beforeAll(async () => {
    ({ url } = await createTestDatabase());
    admin = await openDatabase({ driver: 'pg', connectionString: url });
    await migrate(admin.db);
    expect(await setRolePasswords(admin.db, passwords)).toEqual(Object.keys(passwords));
    fileId = randomUUID();
    await new FileRepository(admin.db).createPending({
      fileId,
      ownerId: 'alice',
      filename: 'a.txt',
      contentType: 'text/plain',
      size: 1,
      checksumSha256: null,
      bucket: 'b',
      key: uploadKey('alice', fileId, 'image'),
      uploadExpiresAt: new Date(Date.now() + 60_000),
    });
  });

  afterAll(async () => {
    await admin?.close();
  });

  it('lets each role in with its own password only', async () => {
    const reader = await as(DB_ROLES.read, passwords[DB_ROLES.read]);
    await reader.end();
    await expect(as(DB_ROLES.read, passwords[DB_ROLES.write])).rejects.toThrow(
      /password authentication failed/,
    );
    await expect(as(DB_ROLES.write, 'guessed-password-0000')).rejects.toThrow(
      /password authentication failed/,
    );
  });

  it('lets the reading role read files and nothing else: no writes, no DDL', async () => {
    const reader = await as(DB_ROLES.read, passwords[DB_ROLES.read]);
    try {
      const { rows } = await reader.query('SELECT filename FROM files WHERE file_id = $1', [
        fileId,
      ]);
      expect(rows).toEqual([{ filename: 'a.txt' }]);
      expect((await reader.query('SELECT value FROM settings')).rows.length).toBeGreaterThan(0);
      for (const sql of [
        `UPDATE files SET owner_id = 'mallory' WHERE file_id = '${fileId}'`,
        `DELETE FROM files WHERE file_id = '${fileId}'`,
        `INSERT INTO request_counts VALUES ('alice', 'upload', now(), 1)`,
        `UPDATE settings SET value = 'known' WHERE name = 'cursor_key'`,
        'SELECT * FROM schema_migrations',
        'CREATE TABLE stolen (x int)',
        'DROP TABLE files',
        'ALTER TABLE files ADD COLUMN x int',
        'TRUNCATE files',
        'CREATE TEMP TABLE scratch (x int)',
      ]) {
        expect(await refusal(reader, sql), sql).toBe('42501');
      }
    } finally {
      await reader.end();
    }
  });

  it('lets the writing role read and write files, but never delete rows or change the schema', async () => {
    const writer = await as(DB_ROLES.write, passwords[DB_ROLES.write]);
    try {
      // The repository, as the functions run it, on the writing role's login.
      const handle = await openDatabase({
        driver: 'pg',
        connectionString: loginUrl(DB_ROLES.write),
      });
      try {
        const repository = new FileRepository(handle.db);
        expect(
          (await repository.countRequest('alice', 'upload', new Date(), 10)).pendingUploads,
        ).toBe(1);
        expect(await repository.markDeleted('alice', fileId)).toBe(true);
        expect(await repository.finishDeletion(fileId)).toBe(true);
      } finally {
        await handle.close();
      }
      for (const sql of [
        `DELETE FROM files WHERE file_id = '${fileId}'`,
        `UPDATE settings SET value = 'known' WHERE name = 'cursor_key'`,
        'CREATE TABLE stolen (x int)',
        'DROP TABLE files',
        'ALTER TABLE files ADD COLUMN x int',
        'TRUNCATE files',
        'CREATE INDEX sneaky ON files (filename)',
      ]) {
        expect(await refusal(writer, sql), sql).toBe('42501');
      }
    } finally {
      await writer.end();
    }
  });
});

/** The test database's URL with a role's login. */
function loginUrl(role: keyof typeof passwords): string {
  const login = new URL(url);
  login.username = role;
  login.password = passwords[role];
  return login.toString();
}
