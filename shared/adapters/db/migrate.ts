import { sql } from 'drizzle-orm';
import { MIGRATIONS, type Migration } from '../../../migrations/index.ts';
import type { Database } from './connect.ts';
import { schemaMigrations } from './schema.ts';

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
  await db.execute(
    sql.raw(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamp(3) with time zone NOT NULL DEFAULT now())',
    ),
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      const existing = await tx
        .select({ id: schemaMigrations.id })
        .from(schemaMigrations)
        .where(sql`${schemaMigrations.id} = ${migration.id}`);
      if (existing.length > 0) return false;
      for (const statement of migration.statements) await tx.execute(sql.raw(statement));
      await tx.insert(schemaMigrations).values({ id: migration.id, appliedAt: new Date() });
      return true;
    });
    if (done) applied.push(migration.id);
  }
  return applied;
};
