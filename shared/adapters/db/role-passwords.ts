import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { DB_ROLES } from '../../domain/db-roles.ts';
import type { Database } from './connect.ts';

const ROLE_NAMES: ReadonlySet<string> = new Set(Object.values(DB_ROLES));

/**
 * A SCRAM-SHA-256 verifier of a password, in the form PostgreSQL stores (RFC 5802, RFC 7677):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. Given to `ALTER ROLE … PASSWORD`,
 * PostgreSQL keeps it as it is, so the password itself never reaches the server, its logs or
 * the Data API. (SASLprep is skipped: the passwords here are ASCII.)
 */
export const scramVerifier = (
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string => {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
};

/**
 * Lets each function role log in with its password: the migrator runs this after the
 * migrations, with the passwords from each role's own secret (AWS) or from the stage (local).
 * Only the roles the migrations made are touched.
 */
export const setRolePasswords = async (
  db: Database,
  passwords: Readonly<Record<string, string>>,
): Promise<string[]> => {
  const set: string[] = [];
  for (const [role, password] of Object.entries(passwords)) {
    if (!ROLE_NAMES.has(role)) throw new Error(`${role} is not a role of SyncFlow's`);
    if (password.length < 16) throw new Error(`The password of ${role} is too short`);
    // A verifier is base64 and `$:` only: nothing in it can end the SQL string literal.
    await db.query(`ALTER ROLE ${role} WITH LOGIN PASSWORD '${scramVerifier(password)}'`);
    set.push(role);
  }
  return set;
};

/**
 * The passwords the migrator sets, from its environment: `ROLE_PASSWORDS` (JSON role →
 * password: the local stage) or `ROLE_SECRET_ARNS` (JSON role → Secrets Manager ARN: AWS,
 * where `readSecret` fetches each secret's JSON and its `password` is taken).
 */
export const rolePasswordsFromEnv = async (
  env: NodeJS.ProcessEnv,
  readSecret: (arn: string) => Promise<string>,
): Promise<Record<string, string>> => {
  if (env.ROLE_PASSWORDS) return JSON.parse(env.ROLE_PASSWORDS) as Record<string, string>;
  if (!env.ROLE_SECRET_ARNS) return {};
  const arns = JSON.parse(env.ROLE_SECRET_ARNS) as Record<string, string>;
  const passwords: Record<string, string> = {};
  for (const [role, arn] of Object.entries(arns)) {
    const secret = JSON.parse(await readSecret(arn)) as { password?: unknown };
    if (typeof secret.password !== 'string')
      throw new Error(`The secret of ${role} has no password`);
    passwords[role] = secret.password;
  }
  return passwords;
};

/**
 * The local stage's password for a role: derived from the admin URL, so it is stable across
 * deploys without a secret store. The local stage is not a security boundary (README); in AWS
 * each role has a generated secret.
 */
export const localRolePassword = (adminUrl: string, role: string): string =>
  createHash('sha256').update(`${adminUrl}\n${role}`).digest('hex').slice(0, 32);
