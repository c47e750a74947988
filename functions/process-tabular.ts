import { analyticsDeps, analyticsSettings } from '#shared/processing/analytics-outputs.ts';
import { yieldToInteractiveKinds } from '#shared/processing/cpu-priority.ts';
import { kindHandler } from '#shared/processing/kind-handler.ts';
import { DEFAULT_TABULAR_LIMITS } from '#shared/processing/tabular/inspect-tabular.ts';
import { tabularPipeline } from '#shared/processing/tabular/tabular-pipeline.ts';

// A batch kind: behind images where functions share cores (cpu-priority.ts).
yieldToInteractiveKinds();

const SETTINGS = analyticsSettings(DEFAULT_TABULAR_LIMITS.maxDecompressedBytes);

/** The tabular kind's function: CSV, TSV and JSON rows to Parquet in a dataset's table (never sharp). */
export const handler = await kindHandler({
  kind: 'tabular',
  pipeline: (store) =>
    tabularPipeline({
      ...analyticsDeps(store, SETTINGS),
      limits: { ...DEFAULT_TABULAR_LIMITS, maxDecompressedBytes: SETTINGS.maxDecompressedBytes },
    }),
});
