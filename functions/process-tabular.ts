import { Catalog } from '#shared/adapters/catalog.ts';
import { glueClient } from '#shared/adapters/clients.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { removeAnalyticsObjects } from '#shared/processing/analytics-outputs.ts';
import { analyticsEngine } from '#shared/processing/duckdb-engine.ts';
import { kindHandler } from '#shared/processing/kind-handler.ts';
import { DEFAULT_TABULAR_LIMITS } from '#shared/processing/tabular/inspect-tabular.ts';
import { tabularPipeline } from '#shared/processing/tabular/tabular-pipeline.ts';

const DATABASE = requireEnv('ANALYTICS_DATABASE');
const LIMITS = {
  ...DEFAULT_TABULAR_LIMITS,
  maxDecompressedBytes: intEnv(
    'MAX_DECOMPRESSED_BYTES',
    DEFAULT_TABULAR_LIMITS.maxDecompressedBytes,
  ),
};
const ENGINE_MEMORY_MB = intEnv('DUCKDB_MEMORY_MB', 256);

/** The tabular kind's function: CSV, TSV and JSON rows to Parquet in a dataset's table (never sharp). */
export const handler = await kindHandler({
  kind: 'tabular',
  pipeline: (store) =>
    tabularPipeline({
      store,
      catalog: new Catalog(glueClient()),
      database: DATABASE,
      limits: LIMITS,
      engine: (scratchDir) => analyticsEngine(scratchDir, ENGINE_MEMORY_MB),
    }),
  removeOutputs: removeAnalyticsObjects,
});
