import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { deployedBundleOptions, functionNames } from '../infra/bundling.ts';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench', '.out');
const IMPORTS = 10;

/** Settings the functions read at import; any value will do for timing the import. */
const FUNCTION_ENV = {
  // What Lambda's Node.js runtime sets: Powertools Tracer turns tracing on and the X-Ray SDK
  // makes its Lambda segment and context (an async hook) at import only where it sees these.
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  LAMBDA_TASK_ROOT: '/var/task',
  _HANDLER: 'index.handler',
  AWS_REGION: 'us-east-1',
  BUCKET_NAME: 'bench',
  EVENT_BUS_NAME: 'bench',
  IDEMPOTENCY_TABLE_NAME: 'bench',
  USER_POOL_ID: 'us-east-1_bench',
  USER_POOL_CLIENT_ID: 'bench',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  // As in AWS: the functions open the Data API driver during init (it connects on first query).
  DB_CLUSTER_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:bench',
  DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
  DB_NAME: 'syncflow',
  // files-api reads its cursor key from the database at init, a query a benchmark must not make
  // (the Data API driver is opened, as in AWS, but nothing is sent); given directly instead.
  CURSOR_KEY: 'bench',
  CONNECTIONS_TABLE_NAME: 'bench',
  INGEST_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
  ANALYTICS_DATABASE: 'syncflow_bench',
  // The pipeline's clock, which file-actions and the sweeper read at init (lifecycle.ts).
  PROCESSOR_TIMEOUT_SECONDS: '300',
  INGEST_VISIBILITY_TIMEOUT_SECONDS: '1800',
  MAX_RECEIVE_COUNT: '5',
  INGEST_RETENTION_SECONDS: '345600',
  SWEEP_GRACE_SECONDS: '300',
  WEBSOCKET_MANAGEMENT_URL: 'https://bench.execute-api.us-east-1.amazonaws.com/bench',
  NOTIFICATION_SENDER: 'bench@example.com',
  // The video state machine: process-video starts its executions, files-api reads them.
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
};

/**
 * Builds a function (or, given `entry`, any module) as deployed, or with the source map of
 * `-c sourceMaps=true`; returns the bundle's size.
 */
const bundle = async (
  name: string,
  outfile: string,
  { entry, sourceMaps = false }: { entry?: string; sourceMaps?: boolean } = {},
): Promise<number> => {
  const options = deployedBundleOptions(name);
  await build({
    ...options,
    ...(entry && { entryPoints: [entry] }),
    sourcemap: sourceMaps,
    outfile,
  });
  return statSync(outfile).size;
};

/** Wall time of importing `file` once in a fresh Node.js process started with `flags`. */
const importOnce = (file: string, flags: string[]): number => {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, ...FUNCTION_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Number(out);
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return ((sorted[Math.floor(middle - 0.5)] ?? 0) + (sorted[Math.ceil(middle - 0.5)] ?? 0)) / 2;
};

/**
 * Median import times of a function's bundle and of the baseline, IMPORTS fresh processes each,
 * taken in turns so that a slow spell of this noisy machine slows both alike.
 */
const importMs = (
  file: string,
  baseline: string,
  flags: string[] = [],
): { own: number; base: number } => {
  const own: number[] = [];
  const base: number[] = [];
  // One import of each first, not counted: the files were just written, and a deployed function's
  // code is not read for the first time by every cold start.
  importOnce(baseline, flags);
  importOnce(file, flags);
  for (let i = 0; i < IMPORTS; i++) {
    base.push(importOnce(baseline, flags));
    own.push(importOnce(file, flags));
  }
  return { own: median(own), base: median(base) };
};

/**
 * Each function bundled as it is deployed: size (sharp's and DuckDB's native libraries excluded,
 * they are not in the bundle) and the median cold import time, against importing a bundle of bare
 * @aws-sdk/client-s3 the same way.
 */
export const benchBundles = async (): Promise<Record<string, unknown>[]> => {
  mkdirSync(OUT, { recursive: true });
  const baselineEntry = join(OUT, 'baseline-s3.ts');
  writeFileSync(
    baselineEntry,
    "import { S3Client } from '@aws-sdk/client-s3';\nexport const client = new S3Client({});\n",
  );
  const baselineFile = join(OUT, 'baseline-s3.mjs');
  await bundle('baseline', baselineFile, { entry: baselineEntry });
  const results: Record<string, unknown>[] = [];
  // BENCH_FUNCTIONS=a,b measures only those (say, one function again and again on a quiet spell).
  const only = process.env.BENCH_FUNCTIONS?.split(',').filter((n) => n !== '');
  for (const name of functionNames().filter((n) => only === undefined || only.includes(n))) {
    const outfile = join(OUT, `${name}.mjs`);
    const bytes = await bundle(name, outfile);
    const { own: initMs, base: baselineMs } = importMs(outfile, baselineFile);
    results.push({
      bench: 'bundle',
      function: name,
      size_kib: Math.round(bytes / 1024),
      init_ms: Number(initMs.toFixed(1)),
      baseline_init_ms: Number(baselineMs.toFixed(1)),
      ratio: Number((initMs / baselineMs).toFixed(3)),
      // The kinds' functions carry Powertools' parser and idempotency and their native library
      // (loaded at import: sharp or DuckDB): reported, with the image function's not to grow.
      goal: name.startsWith('process-')
        ? name === 'process-image'
          ? 'ratio not above the single processor it replaced (3.565 in docs/benchmarks.md)'
          : 'reported'
        : 'size_kib <= 1024, ratio <= 1.5',
    });
  }
  // What `-c sourceMaps=true` costs: the same function with its map, Node.js started with
  // --enable-source-maps (the baseline too, though it has no map to read).
  const mapped = join(OUT, 'files-api-mapped.mjs');
  await bundle('files-api', mapped, { sourceMaps: true });
  const { own, base } = importMs(mapped, baselineFile, ['--enable-source-maps']);
  results.push({
    bench: 'bundle-source-maps',
    function: 'files-api',
    map_kib: Math.round(statSync(`${mapped}.map`).size / 1024),
    init_ms: Number(own.toFixed(1)),
    baseline_init_ms: Number(base.toFixed(1)),
    ratio: Number((own / base).toFixed(3)),
    note: 'the cost of -c sourceMaps=true; no goal',
  });
  return results;
};
