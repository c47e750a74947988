import { statements as files } from './0001_files.ts';
import { statements as settings } from './0002_settings.ts';
import { statements as integrity } from './0003_integrity.ts';
import { statements as roles } from './0004_roles.ts';
import { statements as kinds } from './0005_kinds.ts';
import { statements as videoProgress } from './0006_video_progress.ts';
import { statements as videoExecution } from './0007_video_execution.ts';

export interface Migration {
  /** Never renamed once released: it is the row recorded in schema_migrations. */
  readonly id: string;
  /** One statement each: the RDS Data API runs a single statement per call. */
  readonly statements: readonly string[];
  /**
   * `false` for DDL that may outlast the Data API's call timeout on a large table (`CREATE INDEX
   * CONCURRENTLY IF NOT EXISTS …`): its statements run one by one outside a transaction and must
   * be idempotent (shared/adapters/db/migrate.ts). @default true
   */
  readonly transactional?: boolean;
}

/** Every migration in the order it is applied. Add new ones at the end. */
export const MIGRATIONS: readonly Migration[] = [
  { id: '0001_files', statements: files },
  { id: '0002_settings', statements: settings },
  { id: '0003_integrity', statements: integrity },
  { id: '0004_roles', statements: roles },
  { id: '0005_kinds', statements: kinds },
  { id: '0006_video_progress', statements: videoProgress },
  { id: '0007_video_execution', statements: videoExecution },
];
