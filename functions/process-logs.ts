import { analyticsDeps, analyticsSettings } from '#shared/processing/analytics-outputs.ts';
import { yieldToInteractiveKinds } from '#shared/processing/cpu-priority.ts';
import { kindHandler } from '#shared/processing/kind-handler.ts';
import { DEFAULT_LOG_LIMITS } from '#shared/processing/logs/analyse-log.ts';
import { logsPipeline } from '#shared/processing/logs/logs-pipeline.ts';

// A batch kind: behind images where functions share cores (cpu-priority.ts).
yieldToInteractiveKinds();

const SETTINGS = analyticsSettings(DEFAULT_LOG_LIMITS.maxDecompressedBytes);

/** The logs kind's function: a summary on the record, records as Parquet by event date (never sharp). */
export const handler = await kindHandler({
  kind: 'logs',
  pipeline: (store) =>
    logsPipeline({
      ...analyticsDeps(store, SETTINGS),
      limits: { ...DEFAULT_LOG_LIMITS, maxDecompressedBytes: SETTINGS.maxDecompressedBytes },
    }),
});
