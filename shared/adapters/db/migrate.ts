import { MIGRATIONS, type Migration } from '../../../migrations/index.ts';
import type { Database } from './connect.ts';

/** Any constant: it names the advisory lock that keeps two migrators from racing. */
const MIGRATION_LOCK = 741_852_963;

/**
 * Applies every migration not yet recorded, each in its own transaction, one statement per call
 * (so the same runner works through the RDS Data API). An advisory lock serialises concurrent
 * runs, such as two deploys, and the applied list is read again under it.
 *
 * @returns the ids applied by this run, in order
 */
export const migrate = async (
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string[]> => {
  await db.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamp(3) with time zone NOT NULL DEFAULT now())',
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const existing = await tx.query('SELECT id FROM schema_migrations WHERE id = $1', [
        migration.id,
      ]);
      if (existing.length > 0) return false;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, now())', [
        migration.id,
      ]);
      return true;
    });
    if (done) applied.push(migration.id);
  }
  return applied;
};
