import { join } from 'node:path';
import type { CatalogColumn } from '../../adapters/catalog.ts';
import type { TabularRecordSummary } from '../../domain/analytics-summary.ts';
import { ANALYTICS_PREFIX } from '../../domain/keys.ts';
import { datasetFromFilename, datasetTable } from '../../domain/kinds.ts';
import {
  type AnalyticsDeps,
  boundTabularSummary,
  ensureDatabase,
  reopen,
  tableLocation,
  utcDate,
  withScratch,
} from '../analytics-outputs.ts';
import { checkWork, notText } from '../check-upload.ts';
import type { EngineSettings } from '../duckdb-engine.ts';
import type { KindPipeline } from '../kind-pipeline.ts';
import { convertTabular } from './convert-tabular.ts';
import { evolveSchema, fromTableColumns, toTableColumns } from './evolve-schema.ts';
import { DEFAULT_TABULAR_LIMITS, type TabularLimits } from './inspect-tabular.ts';

export interface TabularPipelineDeps extends AnalyticsDeps {
  readonly limits?: TabularLimits;
  readonly engine?: (scratchDir: string) => EngineSettings;
  /** Worker threads for CSV blocks; default the function's cores, up to four. */
  readonly threads?: number;
}

/** The derivative name of a table's Parquet. */
export const TABLE_PARQUET_NAME = 'data.parquet';
/** First day of every dataset's upload-date projection. */
export const DATASET_PROJECTION_FROM = '2020-01-01';

/** Where a dataset's rows live: one folder per table, Hive partitions by upload date. */
export const datasetPrefix = (table: string): string => `${ANALYTICS_PREFIX}datasets/${table}/`;

/**
 * The tabular kind: the shared checks (size, SHA-256, declared type; the bytes must be text or
 * gzip), then the file is read again by convertTabular (schema from every row, Parquet in the
 * dataset's types), the dataset's Glue table is created or evolved, and the Parquet lands in the
 * dataset's folder under its upload date, and beside the file as a derivative.
 */
export const tabularPipeline =
  (deps: TabularPipelineDeps): KindPipeline =>
  async (work) => {
    const { file } = work;
    const checked = await checkWork(work);
    if (!checked.ok) return { ...checked.common, status: checked.status, reason: checked.reason };
    const common = checked.common;
    const refused = notText(
      checked,
      'tabular data (CSV, TSV, NDJSON or a JSON array, maybe gzip-compressed)',
    );
    if (refused) return refused;
    await ensureDatabase(deps);
    const dataset = file.dataset ?? datasetFromFilename(file.filename);
    const table = datasetTable(file.ownerId, dataset);
    const current = await deps.catalog.columns(deps.database, table);
    return withScratch(deps, async (scratchDir, removeScratch) => {
      const outPath = join(scratchDir, TABLE_PARQUET_NAME);
      const outcome = await convertTabular(reopen(work), {
        scratchDir,
        outPath,
        limits: deps.limits ?? DEFAULT_TABULAR_LIMITS,
        ...(current && { dataset: fromTableColumns(current) }),
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
      const prefix = datasetPrefix(table);
      const partition = `upload_date=${utcDate(file.createdAt)}`;
      const objectKey = `${prefix}${partition}/${file.fileId}.parquet`;
      const mine = outcome.dataset.schema;
      // The table first: a file whose rows are in the folder is always described by it. Another
      // file of the dataset may have changed the table since it was read: evolve from that.
      let conflict: string | undefined;
      await deps.catalog.putTable(
        {
          database: deps.database,
          name: table,
          location: tableLocation(work.bucket, prefix),
          partition: { key: 'upload_date', from: DATASET_PROJECTION_FROM },
          description: `Dataset ${dataset} (SyncFlow)`,
        },
        (columns: readonly CatalogColumn[] | undefined) => {
          const evolved = evolveSchema(columns ? fromTableColumns(columns) : undefined, mine);
          if (!evolved.ok) {
            conflict = evolved.reason;
            return undefined;
          }
          return evolved.changed || columns === undefined
            ? { columns: toTableColumns(evolved.schema) }
            : undefined;
        },
      );
      if (conflict !== undefined) {
        return { ...common, status: 'REJECTED', reason: conflict };
      }
      await deps.store.putFile(work.bucket, objectKey, outPath, 'application/vnd.apache.parquet');
      const summary: TabularRecordSummary = {
        ...boundTabularSummary(outcome.summary),
        dataset,
        table: {
          database: deps.database,
          table,
          location: tableLocation(work.bucket, prefix),
          partitions: [partition],
          objects: [objectKey],
        },
        added: outcome.dataset.added,
        widened: outcome.dataset.widened.map((w) => w.sqlName),
      };
      return {
        ...common,
        status: 'PROCESSED',
        metadata: { tabular: summary },
        derivatives: [
          {
            name: TABLE_PARQUET_NAME,
            contentType: 'application/vnd.apache.parquet',
            size: outcome.parquet.bytes,
            data: { path: outPath },
          },
        ],
        cleanup: removeScratch,
      };
    });
  };
