import { join } from 'node:path';
import type { LogRecordSummary } from '../../domain/analytics-summary.ts';
import { ANALYTICS_PREFIX } from '../../domain/keys.ts';
import { logTable } from '../../domain/kinds.ts';
import {
  type AnalyticsDeps,
  boundLogText,
  ensureDatabase,
  reopen,
  tableLocation,
  withScratch,
} from '../analytics-outputs.ts';
import { checkWork, notText } from '../check-upload.ts';
import type { EngineSettings } from '../duckdb-engine.ts';
import type { KindPipeline } from '../kind-pipeline.ts';
import {
  analyseLog,
  DEFAULT_LOG_LIMITS,
  type LogLimits,
  logCatalogColumns,
} from './analyse-log.ts';

export interface LogsPipelineDeps extends AnalyticsDeps {
  readonly limits?: LogLimits;
  readonly engine?: (scratchDir: string) => EngineSettings;
  /** Worker threads parsing blocks of lines; default the function's cores, up to four. */
  readonly threads?: number;
}

/** First day of every log table's event-date projection: logs may be years older than their upload. */
export const LOG_PROJECTION_FROM = '2000-01-01';

/** Where an owner's logs of one format live: one folder per table, Hive partitions by event date. */
export const logsPrefix = (table: string): string => `${ANALYTICS_PREFIX}logs/${table}/`;

const sameColumns = (
  a: readonly { name: string; type: string }[],
  b: readonly { name: string; type: string }[],
): boolean =>
  a.length === b.length && a.every((c, i) => c.name === b[i]?.name && c.type === b[i]?.type);

/**
 * The logs kind: the shared checks (the bytes must be text or gzip), then analyseLog reads the
 * file again (format, every line parsed, summary), the owner's table of that format is created
 * if new, and the normalised records land under the table's folder partitioned by their own
 * event date. The original stays where it is; the bucket's lifecycle rule moves it to a colder
 * storage class later (infra/constructs/storage.ts).
 */
export const logsPipeline =
  (deps: LogsPipelineDeps): KindPipeline =>
  async (work) => {
    const { file } = work;
    const checked = await checkWork(work);
    if (!checked.ok) return { ...checked.common, status: checked.status, reason: checked.reason };
    const common = checked.common;
    const refused = notText(checked, 'a log (lines of text, maybe gzip-compressed)');
    if (refused) return refused;
    await ensureDatabase(deps);
    return withScratch(deps, async (scratchDir) => {
      const outcome = await analyseLog(reopen(work), {
        scratchDir,
        outDir: join(scratchDir, 'out'),
        fileId: file.fileId,
        referenceTime: file.createdAt,
        limits: deps.limits ?? DEFAULT_LOG_LIMITS,
        ...(deps.engine && { engine: deps.engine(scratchDir) }),
        ...(deps.threads !== undefined && { threads: deps.threads }),
      });
      if (outcome.status === 'REJECTED') {
        return {
          ...common,
          status: 'REJECTED',
          reason: outcome.reason,
          ...(outcome.cause !== undefined && { cause: outcome.cause }),
        };
      }
      const format = outcome.summary.format;
      const table = logTable(file.ownerId, format);
      const prefix = logsPrefix(table);
      const columns = logCatalogColumns(format);
      await deps.catalog.putTable(
        {
          database: deps.database,
          name: table,
          location: tableLocation(work.bucket, prefix),
          partition: { key: 'event_date', from: LOG_PROJECTION_FROM },
          description: `Logs in ${format} format (SyncFlow)`,
        },
        // A format's columns are fixed by the code: the table changes only when a release
        // changes them.
        (current) => (current && sameColumns(current, columns) ? undefined : { columns }),
      );
      const objects: string[] = [];
      for (const written of outcome.parquet.files) {
        const key = `${prefix}${written.key}`;
        await deps.store.putFile(work.bucket, key, written.path, 'application/vnd.apache.parquet');
        objects.push(key);
      }
      const summary: LogRecordSummary = {
        ...boundLogText(outcome.summary),
        rows: outcome.parquet.rowCount,
        table: {
          database: deps.database,
          table,
          location: tableLocation(work.bucket, prefix),
          partitions: [...new Set(outcome.parquet.files.map((f) => `event_date=${f.eventDate}`))],
          objects,
        },
      };
      return { ...common, status: 'PROCESSED', metadata: { logs: summary }, derivatives: [] };
    });
  };
