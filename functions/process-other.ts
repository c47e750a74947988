import { kindHandler } from '#shared/processing/kind-handler.ts';
import { otherPipeline } from '#shared/processing/other/other-pipeline.ts';

/** The kind for every other file: checked and recorded, with neither sharp nor DuckDB loaded. */
export const handler = await kindHandler({ kind: 'other', pipeline: () => otherPipeline() });
