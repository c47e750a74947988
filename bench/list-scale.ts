import pg from 'pg';
import { openDatabase } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import type { FileQuery, PageAfter } from '#shared/domain/file-query.ts';
import { startPostgres } from '../test/support/postgres-server.ts';

const OWNERS = 100;
const LIMIT = 20;
const QUERIES = 300;
const PAGE = 1000;

/**
 * Fills a fresh database with `rows` files over 100 owners, in one INSERT ... SELECT. Owners
 * follow a Zipf-like law (owner k has a share ∝ 1/(k+1)), as real users do: a few heavy ones,
 * many light ones, so the largest have the 20,000 matching files page 1,000 needs at 1M rows.
 * Statuses: 80 % PROCESSED, then FAILED, REJECTED, PENDING_UPLOAD, DELETED at 5 % each.
 */
const fill = async (serverUrl: string, name: string, rows: number): Promise<string> => {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ driver: 'pg', connectionString: url.toString() });
  await migrate(handle.db);
  await handle.close();
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  // Cumulative Zipf shares of the 100 owners, to map a uniform number to an owner.
  const harmonic = Array.from({ length: OWNERS }, (_, k) => 1 / (k + 1));
  const total = harmonic.reduce((a, b) => a + b, 0);
  let running = 0;
  const bounds = harmonic.map((share) => {
    running += share / total;
    return running;
  });
  await client.query(
    `INSERT INTO files (file_id, owner_id, filename, declared_content_type, declared_size, bucket,
       object_key, status, size, content_type, created_at, updated_at)
     SELECT id, owner, 'file-' || n || '.jpg', 'image/jpeg', 1000 + n % 5000, 'bench',
       'uploads/' || owner || '/' || id,
       (ARRAY['PROCESSED','PROCESSED','PROCESSED','PROCESSED','PROCESSED','PROCESSED','PROCESSED',
              'PROCESSED','PROCESSED','PROCESSED','PROCESSED','PROCESSED','PROCESSED','PROCESSED',
              'PROCESSED','PROCESSED','FAILED','REJECTED','PENDING_UPLOAD','DELETED'])[1 + n % 20],
       1000 + n % 5000, 'image/jpeg', created, created
     FROM (
       SELECT n, gen_random_uuid() AS id,
         'owner-' || least(width_bucket(random(), $2::float8[]), ${OWNERS - 1}) AS owner,
         timestamptz '2026-01-01' + (n * interval '20 seconds') AS created
       FROM generate_series(1, $1::int) AS n
     ) AS g`,
    [rows, bounds],
  );
  await client.query('ANALYZE files');
  await client.end();
  return url.toString();
};

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

const timeMs = async (work: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await work();
  return performance.now() - start;
};

/** p95 of first pages (status filter, newest first) for owners picked uniformly. */
const firstPages = async (repository: FileRepository): Promise<number> => {
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const query: FileQuery = {
      ownerId: `owner-${i % OWNERS}`,
      status: 'PROCESSED',
      sort: '-createdAt',
      limit: LIMIT,
    };
    times.push(await timeMs(() => repository.list(query)));
  }
  return quantile(times, 0.95);
};

/**
 * p95 of page 1,000 of the heaviest owner against its page 1, taken in turns: the cursor of
 * page 1,000 is found by walking the 999 pages before it once.
 */
const deepPage = async (repository: FileRepository): Promise<{ first: number; deep: number }> => {
  const base: FileQuery = {
    ownerId: 'owner-0',
    status: 'PROCESSED',
    sort: '-createdAt',
    limit: LIMIT,
  };
  let after: PageAfter | undefined;
  for (let page = 1; page < PAGE; page++) {
    const result = await repository.list({ ...base, ...(after && { after }) });
    if (!result.after) throw new Error(`owner-0 has only ${page} pages`);
    after = result.after;
  }
  const deepQuery: FileQuery = { ...base, ...(after && { after }) };
  const first: number[] = [];
  const deep: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    first.push(await timeMs(() => repository.list(base)));
    deep.push(await timeMs(() => repository.list(deepQuery)));
  }
  return { first: quantile(first, 0.95), deep: quantile(deep, 0.95) };
};

/**
 * `list-scale`: the GET /files query path (repository and SQL, no HTTP) on real PostgreSQL with
 * 10,000 and 1,000,000 files. A server of yours: BENCH_DATABASE_URL (its databases
 * bench_list_10k and bench_list_1m are replaced); otherwise a throwaway one is started.
 */
export const benchListScale = async (): Promise<Record<string, unknown>> => {
  const own = process.env.BENCH_DATABASE_URL ? undefined : await startPostgres();
  const serverUrl = process.env.BENCH_DATABASE_URL ?? own?.url ?? '';
  try {
    const measure = async (name: string, rows: number) => {
      const url = await fill(serverUrl, name, rows);
      const handle = await openDatabase({ driver: 'pg', connectionString: url });
      try {
        const repository = new FileRepository(handle.db);
        await firstPages(repository); // warm the pool and the plan cache
        return { repository, p95: await firstPages(repository), handle };
      } catch (error) {
        await handle.close();
        throw error;
      }
    };
    const small = await measure('bench_list_10k', 10_000);
    await small.handle.close();
    const large = await measure('bench_list_1m', 1_000_000);
    const pages = await deepPage(large.repository);
    await large.handle.close();
    return {
      bench: 'list-scale',
      owners: OWNERS,
      limit: LIMIT,
      p95_ms_10k: Number(small.p95.toFixed(2)),
      p95_ms_1m: Number(large.p95.toFixed(2)),
      ratio: Number((large.p95 / small.p95).toFixed(3)),
      p95_ms_page_1: Number(pages.first.toFixed(2)),
      p95_ms_page_1000: Number(pages.deep.toFixed(2)),
      page_ratio: Number((pages.deep / pages.first).toFixed(3)),
      goal: 'ratio <= 2.0, page_ratio <= 2.0',
    };
  } finally {
    await own?.stop();
  }
};
