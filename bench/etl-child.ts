import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { analyseLog } from '../shared/processing/logs/analyse-log.ts';
import { convertTabular } from '../shared/processing/tabular/convert-tabular.ts';

/**
 * One side of an ETL benchmark in a process of its own, so its peak RSS (DuckDB's native memory
 * included) is that side's alone: `ours-csv`, `ours-log` (the library as the function runs it,
 * over the file read in 64 KiB chunks, S3's stream size) or `duckdb-csv`, `duckdb-log` (the
 * baselines). Prints `{seconds, cpuSeconds, peakRss, rows}`: CPU time of the whole process, worker
 * threads and DuckDB's threads included, which says more than wall time when other work shares
 * the cores.
 */
const [mode, input] = process.argv.slice(2) as [string, string];

let peak = process.memoryUsage().rss;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);

const sql = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const open = async (): Promise<AsyncIterable<Uint8Array>> =>
  createReadStream(input, { highWaterMark: 64 * 1024 });

/** The regular expression of a combined log line, with the same groups our parser reads. */
const COMBINED_RE =
  '^(\\S+) (\\S+) (\\S+) \\[([^\\]]+)\\] "([A-Z]+) ([^ ?"]*)\\??([^ "]*) ([^"]*)" (\\d{3}) (\\d+|-) "([^"]*)" "([^"]*)"';
const GROUPS = [
  'client_ip',
  'ident',
  'remote_user',
  'time',
  'method',
  'path',
  'query',
  'protocol',
  'status',
  'bytes',
  'referer',
  'user_agent',
];

const duckdb = async (statement: (dir: string) => string): Promise<number> => {
  const dir = await mkdtemp(join(tmpdir(), 'syncflow-bench-'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const result = await connection.run(statement(dir));
    return Number(result.rowsChanged);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
};

const started = process.hrtime.bigint();
const cpuStarted = process.cpuUsage();
let rows = 0;
const scratchDir = await mkdtemp(join(tmpdir(), 'syncflow-bench-'));
try {
  if (mode === 'ours-csv') {
    const outcome = await convertTabular(open, {
      scratchDir,
      outPath: join(scratchDir, 'out.parquet'),
    });
    if (outcome.status !== 'PROCESSED') throw new Error(outcome.reason);
    rows = outcome.summary.rowCount;
  } else if (mode === 'ours-log') {
    const outcome = await analyseLog(open, {
      scratchDir,
      outDir: join(scratchDir, 'out'),
      fileId: 'bench',
      referenceTime: new Date(),
    });
    if (outcome.status !== 'PROCESSED') throw new Error(outcome.reason);
    rows = outcome.summary.parsed;
  } else if (mode === 'duckdb-csv') {
    rows = await duckdb(
      (dir) =>
        `COPY (SELECT * FROM read_csv(${sql(input)})) TO ${sql(join(dir, 'out.parquet'))} (FORMAT parquet)`,
    );
  } else if (mode === 'duckdb-log') {
    const g = (name: string): string => `m.${name}`;
    rows = await duckdb(
      (dir) => `COPY (
        WITH lines AS (SELECT regexp_extract(line, ${sql(COMBINED_RE)}, [${GROUPS.map(sql).join(', ')}]) AS m
                       FROM read_csv(${sql(input)}, columns = {'line': 'VARCHAR'}, delim = E'\\x01', quote = '', escape = '', header = false, auto_detect = false)),
        typed AS (SELECT strptime(${g('time')}, '%d/%b/%Y:%H:%M:%S %z')::TIMESTAMP AS event_time, ${g('client_ip')} AS client_ip,
                         nullif(${g('ident')}, '-') AS ident, nullif(${g('remote_user')}, '-') AS remote_user, ${g('method')} AS method,
                         ${g('path')} AS path, nullif(${g('query')}, '') AS query, ${g('protocol')} AS protocol,
                         CAST(${g('status')} AS INTEGER) AS status, TRY_CAST(${g('bytes')} AS BIGINT) AS bytes,
                         nullif(${g('referer')}, '-') AS referer, nullif(${g('user_agent')}, '-') AS user_agent
                  FROM lines)
        SELECT *, CAST(event_time AS DATE) AS event_date FROM typed
      ) TO ${sql(join(dir, 'out'))} (FORMAT parquet, PARTITION_BY (event_date))`,
    );
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await rm(scratchDir, { recursive: true, force: true });
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuStarted);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(JSON.stringify({ seconds, cpuSeconds, peakRss: peak, rows }));
