import { MIGRATIONS, type Migration } from '../../../migrations/index.ts';
import type { Database } from './connect.ts';

/** Any constant: it names the advisory lock that keeps two migrators from racing. */
const MIGRATION_LOCK = 741_852_963;

/** How the migrator waits for a long statement the Data API stopped waiting for. */
export interface MigrateOptions {
  /** Between two looks at whether the statement still runs. @default 5 s */
  readonly pollMs?: number;
}

/**
 * Takes the advisory lock inside the caller's transaction. `pg_advisory_xact_lock` returns
 * `void`, a result type the RDS Data API refuses (UnsupportedResultException), so the lock is
 * taken in FROM and the statement answers an integer.
 */
const LOCK_STATEMENT = 'SELECT 1 AS locked FROM pg_advisory_xact_lock($1)';

const isStatementTimeout = (error: unknown): boolean =>
  (error as Error).name === 'StatementTimeoutException';

/**
 * Runs one statement of a migration outside a transaction (`transactional: false`). The Data API
 * stops waiting for a call after its timeout but, with `continueAfterTimeout`, lets the
 * statement go on; the migrator then watches `pg_stat_activity` for the statement (found by the
 * marker comment it carries) until it ends, and runs it once more, which an idempotent statement
 * (`IF NOT EXISTS`) answers at once, or with the error that ended it.
 */
const runLong = async (
  db: Database,
  marker: string,
  statement: string,
  pollMs: number,
): Promise<void> => {
  const sql = `/* ${marker} */ ${statement}`;
  try {
    await db.query(sql, [], { longRunning: true });
    return;
  } catch (error) {
    if (!isStatementTimeout(error)) throw error;
  }
  for (;;) {
    const [running] = await db.query<{ n: number | string }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()",
      [`/* ${marker} */%`],
    );
    if (Number(running?.n ?? 0) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  await db.query(sql, [], { longRunning: true });
};

/**
 * Applies every migration not yet recorded, one statement per call (so the same runner works
 * through the RDS Data API). A migration runs in its own transaction under an advisory lock that
 * serialises concurrent runs, such as two deploys, and the applied list is read again under it.
 * A migration marked `transactional: false` (long DDL such as `CREATE INDEX CONCURRENTLY`) runs
 * statement by statement outside a transaction, each allowed to outlast the Data API's call
 * timeout; its statements must be idempotent, since a deploy that failed half-way runs them again.
 *
 * @returns the ids applied by this run, in order
 */
export const migrate = async (
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
  options: MigrateOptions = {},
): Promise<string[]> => {
  const pollMs = options.pollMs ?? 5_000;
  await db.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamp(3) with time zone NOT NULL DEFAULT now())',
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    if (migration.transactional === false) {
      const [existing] = await db.query('SELECT id FROM schema_migrations WHERE id = $1', [
        migration.id,
      ]);
      if (existing) continue;
      for (const [index, statement] of migration.statements.entries()) {
        await runLong(db, `syncflow-migration ${migration.id}#${index + 1}`, statement, pollMs);
      }
      const recorded = await db.query(
        'INSERT INTO schema_migrations (id, applied_at) VALUES ($1, now()) ON CONFLICT (id) DO NOTHING RETURNING id',
        [migration.id],
      );
      if (recorded.length > 0) applied.push(migration.id);
      continue;
    }
    const done = await db.transaction(async (tx) => {
      await tx.query(LOCK_STATEMENT, [MIGRATION_LOCK]);
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
