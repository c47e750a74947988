import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLING } from '../infra/bundling.ts';
import { writeCsv, writeNginxLog } from './data/generate.ts';

const ROOT = join(import.meta.dirname, '..');
const SIZE = 1024 ** 3;
const DATA_DIR = process.env.BENCH_DATA_DIR ?? join(tmpdir(), 'syncflow-bench-data');

interface ChildResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRss: number;
  readonly rows: number;
}

const BUNDLE_DIR = join(ROOT, 'bench', '.out', 'etl');

/**
 * The child bundled as the tabular and logs functions are (esbuild, ESM, DuckDB external), with
 * the worker entries beside it as `.mjs`, so ours is measured on the deployed code path and not
 * through tsx's loader (which every worker thread would load again).
 */
const bundleChild = async (): Promise<string> => {
  mkdirSync(BUNDLE_DIR, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: BUNDLING.target,
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent' as const,
  };
  await build({
    ...common,
    entryPoints: [join(ROOT, 'bench', 'etl-child.ts')],
    outfile: join(BUNDLE_DIR, 'etl-child.mjs'),
    banner: { js: BUNDLING.banner },
    external: ['@duckdb/node-api'],
  });
  for (const worker of ['tabular/csv-block-worker', 'logs/log-block-worker']) {
    await build({
      ...common,
      entryPoints: [join(ROOT, 'shared', 'processing', `${worker}.ts`)],
      outfile: join(BUNDLE_DIR, `${worker.split('/')[1]}.mjs`),
    });
  }
  return join(BUNDLE_DIR, 'etl-child.mjs');
};

const child = (script: string, mode: string, input: string): ChildResult =>
  JSON.parse(
    execFileSync(process.execPath, [script, mode, input], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    }),
  ) as ChildResult;

/** The generated input, made once and kept in the data directory (it is deterministic). */
const input = async (
  name: string,
  make: (path: string, bytes: number) => Promise<number>,
): Promise<string> => {
  mkdirSync(DATA_DIR, { recursive: true });
  const path = join(DATA_DIR, name);
  if (!existsSync(path) || statSync(path).size < SIZE) await make(path, SIZE);
  return path;
};

const compare = async (
  bench: string,
  path: string,
  ours: string,
  baseline: string,
  goal: string,
) => {
  const mb = statSync(path).size / 1024 / 1024;
  const script = await bundleChild();
  // Baseline first, then ours, then the baseline again: the machine's noise hits both sides.
  const a = child(script, baseline, path);
  const mine = child(script, ours, path);
  const b = child(script, baseline, path);
  const baselineSeconds = (a.seconds + b.seconds) / 2;
  if (mine.rows !== a.rows)
    throw new Error(`${bench}: ours read ${mine.rows} rows, DuckDB ${a.rows}`);
  return {
    bench,
    input_mb: Math.round(mb),
    rows: mine.rows,
    mb_per_s: Number((mb / mine.seconds).toFixed(1)),
    peak_rss_mb: Math.round(mine.peakRss / 1024 / 1024),
    baseline_mb_per_s: Number((mb / baselineSeconds).toFixed(1)),
    baseline_peak_rss_mb: Math.round(Math.max(a.peakRss, b.peakRss) / 1024 / 1024),
    ratio: Number((baselineSeconds / mine.seconds).toFixed(3)),
    cpu_s: Number(mine.cpuSeconds.toFixed(1)),
    baseline_cpu_s: Number(((a.cpuSeconds + b.cpuSeconds) / 2).toFixed(1)),
    code_path: 'bundled (esbuild, as deployed), worker entries as .mjs',
    goal,
  };
};

/** `etl-csv-1gib`: a generated 1 GiB CSV of mixed types to Parquet, against DuckDB's own COPY. */
export const benchEtlCsv = async (): Promise<Record<string, unknown>> =>
  compare(
    'etl-csv-1gib',
    await input('mixed-1gib.csv', writeCsv),
    'ours-csv',
    'duckdb-csv',
    'ratio >= 0.5, peak_rss_mb <= 512',
  );

/** `logs-1gib`: a generated 1 GiB nginx combined log to Parquet by date, against DuckDB regexp_extract. */
export const benchLogs = async (): Promise<Record<string, unknown>> =>
  compare(
    'logs-1gib',
    await input('nginx-1gib.log', writeNginxLog),
    'ours-log',
    'duckdb-log',
    'ratio >= 0.5, peak_rss_mb <= 512',
  );

const duSize = (path: string): number =>
  Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);

/** Wall time of `code` in a fresh Node.js process, in milliseconds (the process's own figure). */
const freshProcessMs = (code: string): number =>
  Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim(),
  );

/**
 * `duckdb-in-function`: what carrying DuckDB costs a function. The size of the npm package and
 * its native library for this platform, and the median of 7 cold starts (import, open an
 * in-memory database, run one query) in fresh processes, against importing @aws-sdk/client-s3
 * the same way, in turns.
 */
export const benchDuckdbInit = (): Record<string, unknown> => {
  const duck = `const t = performance.now(); const { DuckDBInstance } = await import('@duckdb/node-api'); const db = await DuckDBInstance.create(':memory:'); const c = await db.connect(); await c.run('SELECT 1'); console.log(performance.now() - t);`;
  const s3 = `const t = performance.now(); await import('@aws-sdk/client-s3'); console.log(performance.now() - t);`;
  const duckTimes: number[] = [];
  const s3Times: number[] = [];
  freshProcessMs(duck);
  freshProcessMs(s3);
  for (let i = 0; i < 7; i++) {
    duckTimes.push(freshProcessMs(duck));
    s3Times.push(freshProcessMs(s3));
  }
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const packages = join(ROOT, 'node_modules', '@duckdb');
  return {
    bench: 'duckdb-in-function',
    package_mib: Number((duSize(packages) / 1024 / 1024).toFixed(1)),
    init_ms: Number(median(duckTimes).toFixed(1)),
    baseline_init_ms: Number(median(s3Times).toFixed(1)),
    ratio: Number((median(duckTimes) / median(s3Times)).toFixed(3)),
    note: 'import + open + one query against importing bare client-s3; no goal',
  };
};
