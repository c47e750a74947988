/**
 * The database roles the functions log in as (migrations/0004_roles.ts makes them): shared by
 * the CDK app, which hands each function its role's credentials, and the migrator, which sets
 * their passwords. Only the migrator holds the admin login.
 */
export const DB_ROLES = { read: 'syncflow_read', write: 'syncflow_write' } as const;

export type DbAccess = keyof typeof DB_ROLES;
