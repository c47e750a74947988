import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../adapters/catalog.ts';
import { glueClient } from '../adapters/clients.ts';
import { intEnv, requireEnv } from '../adapters/env.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import { analyticsEngine } from './duckdb-engine.ts';
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

/** `YYYY-MM-DD` of an instant, in UTC. */
export const utcDate = (at: Date): string => at.toISOString().slice(0, 10);

/**
 * Most characters of a summary kept on a record: a row stays far below the Data API's 64 KB
 * field and 1 MiB answer whatever the file (a table of 1,000 columns, a log of very long lines).
 */
export const MAX_SUMMARY_CHARS = 48 * 1024;
const MAX_TEXT_CHARS = 500;

const cut = (text: string): string =>
  text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS - 1)}…` : text;

/**
 * A tabular summary within MAX_SUMMARY_CHARS: fewer preview rows first, then the first 50
 * preview columns, then the first 200 columns' details; `truncated` says so. The table in Glue
 * keeps every column.
 */
export const boundTabularSummary = <
  T extends {
    preview: { columns: readonly string[]; rows: readonly (readonly unknown[])[] };
    columns: readonly unknown[];
  },
>(
  summary: T,
): T & { truncated?: true } => {
  let bounded: T = summary;
  const over = () => JSON.stringify(bounded).length > MAX_SUMMARY_CHARS;
  if (!over()) return bounded;
  while (over() && bounded.preview.rows.length > 1) {
    const rows = bounded.preview.rows.slice(0, Math.floor(bounded.preview.rows.length / 2));
    bounded = { ...bounded, preview: { ...bounded.preview, rows } };
  }
  if (over()) {
    bounded = {
      ...bounded,
      preview: {
        columns: bounded.preview.columns.slice(0, 50),
        rows: bounded.preview.rows.map((row) => row.slice(0, 50)),
      },
    };
  }
  if (over()) bounded = { ...bounded, columns: bounded.columns.slice(0, 200) };
  return { ...bounded, truncated: true };
};

/** A log summary's free text (unparsed lines, templates) cut to 500 characters each. */
export const boundLogText = <
  T extends {
    unparsedExamples: readonly { line: number; text: string }[];
    topTemplates: readonly { template: string; count: number }[];
  },
>(
  summary: T,
): T => ({
  ...summary,
  unparsedExamples: summary.unparsedExamples.map((e) => ({ ...e, text: cut(e.text) })),
  topTemplates: summary.topTemplates.map((t) => ({ ...t, template: cut(t.template) })),
});

/** What the tabular and logs functions read from their environment (infra/constructs/processing.ts). */
export interface AnalyticsSettings {
  readonly database: string;
  readonly maxDecompressedBytes: number;
  readonly engineMemoryMb: number;
}

/** The settings, read once at import: a missing database fails the cold start. */
export const analyticsSettings = (defaultMaxDecompressedBytes: number): AnalyticsSettings => ({
  database: requireEnv('ANALYTICS_DATABASE'),
  maxDecompressedBytes: intEnv('MAX_DECOMPRESSED_BYTES', defaultMaxDecompressedBytes),
  engineMemoryMb: intEnv('DUCKDB_MEMORY_MB', 256),
});

/** A converter's ports: the shared store, the Glue catalog, DuckDB within the stage's memory. */
export const analyticsDeps = (store: ObjectStore, settings: AnalyticsSettings) => ({
  store,
  catalog: new Catalog(glueClient()),
  database: settings.database,
  engine: (scratchDir: string) => analyticsEngine(scratchDir, settings.engineMemoryMb),
});
