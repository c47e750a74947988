import { checkWork } from '../check-upload.ts';
import type { KindPipeline } from '../kind-pipeline.ts';

/**
 * The kind for everything else (documents, archives, JSON, plain text): the shared checks alone
 * (size, SHA-256, real type against the declared one). It loads neither sharp nor DuckDB, and
 * never keeps the bytes in memory.
 */
export const otherPipeline = (): KindPipeline => async (work) => {
  const checked = await checkWork(work);
  if (!checked.ok) {
    return { ...checked.common, status: checked.status, reason: checked.reason };
  }
  return { ...checked.common, status: 'PROCESSED', metadata: {}, derivatives: [] };
};
