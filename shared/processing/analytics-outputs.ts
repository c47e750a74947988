import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../adapters/catalog.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import type { FileMetadata } from '../domain/file-record.ts';
import type { KindResult, KindWork } from './kind-pipeline.ts';

/** Where a kind that writes Parquet for Athena puts it, and the catalog that describes it. */
export interface AnalyticsDeps {
  readonly store: ObjectStore;
  readonly catalog: Catalog;
  /** The stage's Glue database (`analyticsDatabase(stage)`). */
  readonly database: string;
  /** Scratch space for decompressed input, spill files and Parquet (Lambda: under /tmp). */
  readonly scratchRoot?: string;
}

/** The analytics area's location of one table, as Glue and Athena name it. */
export const tableLocation = (bucket: string, prefix: string): string => `s3://${bucket}/${prefix}`;

const ensured = new Set<string>();

/** Creates the stage's database once per process (a cold start checks it again). */
export const ensureDatabase = async (deps: AnalyticsDeps): Promise<void> => {
  if (ensured.has(deps.database)) return;
  await deps.catalog.ensureDatabase(
    deps.database,
    'SyncFlow: one table per dataset and per log format, written by the pipeline',
  );
  ensured.add(deps.database);
};

/**
 * A scratch directory of this run's own. `work` may keep it past its return by handing back a
 * `cleanup` (files the caller still reads); otherwise, and on any error, it is removed at once.
 */
export const withScratch = async (
  deps: AnalyticsDeps,
  work: (dir: string, remove: () => Promise<void>) => Promise<KindResult>,
): Promise<KindResult> => {
  const dir = await mkdtemp(join(deps.scratchRoot ?? tmpdir(), 'syncflow-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  let result: KindResult | undefined;
  try {
    result = await work(dir, remove);
    return result;
  } finally {
    if (result?.status !== 'PROCESSED' || result.cleanup === undefined) await remove();
  }
};

/** The body of the object being worked on, opened again from its first byte. */
export const reopen =
  (work: KindWork): (() => Promise<AsyncIterable<Uint8Array>>) =>
  async () =>
    (await work.open()).body;

/** Removes what a file wrote under `analytics/` (a file deleted while it was processed). */
export const removeAnalyticsObjects =
  (store: ObjectStore) =>
  async (file: { bucket: string; metadata: FileMetadata }): Promise<void> => {
    const keys = [
      ...(file.metadata.tabular?.table.objects ?? []),
      ...(file.metadata.logs?.table.objects ?? []),
    ];
    if (keys.length > 0) await store.deleteEverything(file.bucket, keys);
  };

/** `YYYY-MM-DD` of an instant, in UTC. */
export const utcDate = (at: Date): string => at.toISOString().slice(0, 10);
