import { DB_ROLES } from '../shared/domain/db-roles.ts';

const { read, write } = DB_ROLES;

/**
 * Least privilege in the database: a role that may only read files (the read routes of the API)
 * and one that may read and write them (uploads, file actions, the processor, the sweeper).
 * Neither owns a table nor may create one, so neither can run DDL; only the migrator's admin
 * login can. The roles log in with passwords the migrator sets from each role's own secret
 * (shared/adapters/db/role-passwords.ts), so a function holds its own role's secret only.
 * Roles belong to the whole PostgreSQL server: creating one that exists is not an error (two
 * databases of one server, as the tests have, share them).
 */
export const statements: readonly string[] = [
  `DO $$
   BEGIN
     CREATE ROLE ${read} LOGIN;
   EXCEPTION WHEN duplicate_object THEN NULL;
   END $$`,
  `DO $$
   BEGIN
     CREATE ROLE ${write} LOGIN;
   EXCEPTION WHEN duplicate_object THEN NULL;
   END $$`,
  // PostgreSQL before 15 lets everyone create tables in `public`; nobody but the owner may here.
  'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
  `DO $$
   BEGIN
     EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
   END $$`,
  `GRANT USAGE ON SCHEMA public TO ${read}, ${write}`,
  `GRANT SELECT ON files, settings TO ${read}`,
  `GRANT SELECT, INSERT, UPDATE ON files TO ${write}`,
  `GRANT SELECT ON settings TO ${write}`,
  `GRANT SELECT, INSERT, UPDATE, DELETE ON request_counts TO ${write}`,
];
