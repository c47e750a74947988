import { Catalog } from '#shared/adapters/catalog.ts';
import { glueClient } from '#shared/adapters/clients.ts';
import { intEnv, requireEnv } from '#shared/adapters/env.ts';
import { removeAnalyticsObjects } from '#shared/processing/analytics-outputs.ts';
import { analyticsEngine } from '#shared/processing/duckdb-engine.ts';
import { kindHandler } from '#shared/processing/kind-handler.ts';
import { DEFAULT_LOG_LIMITS } from '#shared/processing/logs/analyse-log.ts';
import { logsPipeline } from '#shared/processing/logs/logs-pipeline.ts';

const DATABASE = requireEnv('ANALYTICS_DATABASE');
const LIMITS = {
  ...DEFAULT_LOG_LIMITS,
  maxDecompressedBytes: intEnv('MAX_DECOMPRESSED_BYTES', DEFAULT_LOG_LIMITS.maxDecompressedBytes),
};
const ENGINE_MEMORY_MB = intEnv('DUCKDB_MEMORY_MB', 256);

/** The logs kind's function: a summary on the record, records as Parquet by event date (never sharp). */
export const handler = await kindHandler({
  kind: 'logs',
  pipeline: (store) =>
    logsPipeline({
      store,
      catalog: new Catalog(glueClient()),
      database: DATABASE,
      limits: LIMITS,
      engine: (scratchDir) => analyticsEngine(scratchDir, ENGINE_MEMORY_MB),
    }),
  removeOutputs: removeAnalyticsObjects,
});
