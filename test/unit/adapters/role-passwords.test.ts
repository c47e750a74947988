import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  localRolePassword,
  rolePasswordsFromEnv,
  scramVerifier,
  setRolePasswords,
} from '#shared/adapters/db/role-passwords.ts';

describe('role passwords', () => {
  it('turns a password into the SCRAM-SHA-256 verifier PostgreSQL stores, never the password', () => {
    const salt = Buffer.from('0123456789abcdef');
    const verifier = scramVerifier('correct horse battery staple', salt, 4096);
    const [scheme, rest] = verifier.split('$', 2);
    expect(scheme).toBe('SCRAM-SHA-256');
    expect(verifier).not.toContain('horse');
    // RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
    const salted = pbkdf2Sync('correct horse battery staple', salt, 4096, 32, 'sha256');
    const stored = createHash('sha256')
      .update(createHmac('sha256', salted).update('Client Key').digest())
      .digest('base64');
    const server = createHmac('sha256', salted).update('Server Key').digest('base64');
    expect(rest).toBe(`4096:${salt.toString('base64')}`);
    expect(verifier.endsWith(`$${stored}:${server}`)).toBe(true);
    // Nothing in it can end a SQL string literal.
    expect(scramVerifier("pw-with-'-quote-and-long")).toMatch(/^[A-Za-z0-9+/=$:-]+$/);
  });

  it('sets only the roles SyncFlow made, from passwords long enough', async () => {
    const sent: string[] = [];
    const db = {
      query: async (text: string) => {
        sent.push(text);
        return [];
      },
      transaction: async () => {
        throw new Error('unused');
      },
    };
    expect(await setRolePasswords(db, { syncflow_read: 'a'.repeat(32) })).toEqual([
      'syncflow_read',
    ]);
    expect(sent[0]).toMatch(/^ALTER ROLE syncflow_read WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
    await expect(setRolePasswords(db, { postgres: 'a'.repeat(32) })).rejects.toThrow(/not a role/);
    await expect(setRolePasswords(db, { syncflow_write: 'short' })).rejects.toThrow(/too short/);
  });

  it("reads each role's password from its secret in AWS, or from the stage locally", async () => {
    const secrets: Record<string, string> = {
      'arn:read': JSON.stringify({ username: 'syncflow_read', password: 'r'.repeat(32) }),
      'arn:write': JSON.stringify({ username: 'syncflow_write', password: 'w'.repeat(32) }),
    };
    const fromSecrets = await rolePasswordsFromEnv(
      {
        ROLE_SECRET_ARNS: JSON.stringify({
          syncflow_read: 'arn:read',
          syncflow_write: 'arn:write',
        }),
      },
      async (arn) => secrets[arn] ?? '{}',
    );
    expect(fromSecrets).toEqual({ syncflow_read: 'r'.repeat(32), syncflow_write: 'w'.repeat(32) });
    const local = await rolePasswordsFromEnv(
      { ROLE_PASSWORDS: JSON.stringify({ syncflow_read: 'x'.repeat(32) }) },
      async () => {
        throw new Error('no secrets locally');
      },
    );
    expect(local).toEqual({ syncflow_read: 'x'.repeat(32) });
    expect(localRolePassword('postgres://a@h/db', 'syncflow_read')).toHaveLength(32);
    expect(localRolePassword('postgres://a@h/db', 'syncflow_read')).not.toBe(
      localRolePassword('postgres://a@h/db', 'syncflow_write'),
    );
  });
});
