import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AnalyseLogOptions,
  analyseLog,
  DEFAULT_LOG_LIMITS,
  type LogOutcome,
} from '#shared/processing/logs/analyse-log.ts';
import { messageTemplate, TopCounter } from '#shared/processing/logs/templates.ts';
import { opener, readParquet } from '../../../support/parquet.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncflow-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const analyse = (
  data: string | Buffer,
  options: Partial<AnalyseLogOptions> = {},
  chunk = 64 * 1024,
) =>
  analyseLog(opener(Buffer.isBuffer(data) ? data : Buffer.from(data), chunk), {
    scratchDir: dir,
    outDir: join(dir, 'out'),
    fileId: 'f1',
    referenceTime: new Date('2026-12-01T12:00:00Z'),
    // One DuckDB thread: the unit suites run side by side on few cores.
    engine: { threads: 1, memoryLimitMb: 256, tempDirectory: dir },
    ...options,
  });

const processed = (outcome: LogOutcome) => {
  if (outcome.status !== 'PROCESSED') throw new Error(`expected PROCESSED, got ${outcome.reason}`);
  return outcome;
};

const NGINX = [
  '10.0.0.1 - - [30/Nov/2026:23:59:58 +0000] "GET /api/items/17?x=1 HTTP/1.1" 200 512 "-" "curl/8.5.0"',
  '10.0.0.2 - alice [01/Dec/2026:01:00:00 +0100] "GET /api/items/42 HTTP/1.1" 404 0 "https://e.com/" "Mozilla/5.0"',
  'garbage that is not an access log line',
  '10.0.0.1 - - [01/Dec/2026:00:00:05 +0000] "POST /login HTTP/2.0" 503 - "-" "say \\"hi\\""',
  '',
  '10.0.0.1 - - [01/Dec/2026:00:00:06 +0000] "GET /api/items/9 HTTP/1.1" 200 100 "-" "curl/8.5.0"',
].join('\r\n');

describe('analyseLog', () => {
  it('sums up a combined access log and archives it partitioned by event date', async () => {
    const outcome = processed(await analyse(gzipSync(NGINX), {}, 50));
    const { summary, parquet } = outcome;
    expect(summary).toMatchObject({
      format: 'combined',
      compression: 'gzip',
      lines: 6,
      parsed: 4,
      unparsed: 1,
      unparsedExamples: [{ line: 3, text: 'garbage that is not an access log line' }],
      timeRange: { from: '2026-11-30T23:59:58.000Z', to: '2026-12-01T00:00:06.000Z' },
      levels: { error: 1, info: 2, warning: 1 },
      errorRate: 0.25,
      bytes: { decoded: Buffer.byteLength(NGINX) },
      topTemplates: [
        { template: 'GET /api/items/<n>', count: 3 },
        { template: 'POST /login', count: 1 },
      ],
      access: {
        statusClasses: { '2xx': 2, '4xx': 1, '5xx': 1 },
        responseBytes: 612,
        topPaths: [
          { path: '/api/items/17', count: 1 },
          { path: '/api/items/42', count: 1 },
          { path: '/api/items/9', count: 1 },
          { path: '/login', count: 1 },
        ],
        topClients: [
          { client: '10.0.0.1', count: 3 },
          { client: '10.0.0.2', count: 1 },
        ],
      },
      topCountMaxError: 0,
    });
    expect(parquet.files.map((f) => f.key)).toEqual([
      'event_date=2026-11-30/f1_0.parquet',
      'event_date=2026-12-01/f1_0.parquet',
    ]);
    const back = await readParquet(
      parquet.files.map((f) => f.path),
      'source_line',
    );
    expect(back.types).toMatchObject({
      event_time: 'TIMESTAMP',
      status: 'INTEGER',
      bytes: 'BIGINT',
      source_line: 'BIGINT',
    });
    // DuckDB adds the partition column from the path, as Athena does from the table.
    expect(Object.keys(back.types)).toEqual([...parquet.columns.map((c) => c.name), 'event_date']);
    expect(back.rows).toEqual([
      [
        '2026-11-30 23:59:58',
        'info',
        '10.0.0.1',
        null,
        null,
        'GET',
        '/api/items/17',
        'x=1',
        'HTTP/1.1',
        '200',
        '512',
        null,
        'curl/8.5.0',
        '1',
        'f1',
        '2026-11-30',
      ],
      [
        '2026-12-01 00:00:00',
        'warning',
        '10.0.0.2',
        null,
        'alice',
        'GET',
        '/api/items/42',
        null,
        'HTTP/1.1',
        '404',
        '0',
        'https://e.com/',
        'Mozilla/5.0',
        '2',
        'f1',
        '2026-12-01',
      ],
      [
        '2026-12-01 00:00:05',
        'error',
        '10.0.0.1',
        null,
        null,
        'POST',
        '/login',
        null,
        'HTTP/2.0',
        '503',
        null,
        null,
        'say "hi"',
        '4',
        'f1',
        '2026-12-01',
      ],
      [
        '2026-12-01 00:00:06',
        'info',
        '10.0.0.1',
        null,
        null,
        'GET',
        '/api/items/9',
        null,
        'HTTP/1.1',
        '200',
        '100',
        null,
        'curl/8.5.0',
        '6',
        'f1',
        '2026-12-01',
      ],
    ]);
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('parses blocks of lines on worker threads exactly as in one thread', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const second = String(i % 60).padStart(2, '0');
      const minute = String(Math.floor(i / 60) % 60).padStart(2, '0');
      lines.push(
        i === 8_000
          ? 'not a log line'
          : `10.0.${i % 7}.1 - - [01/Dec/2026:10:${minute}:${second} +0000] "GET /items/${i % 500} HTTP/1.1" ${i % 10 === 0 ? 500 : 200} ${i} "-" "agent"`,
      );
    }
    const log = lines.join('\n');
    const limits = { ...DEFAULT_LOG_LIMITS, blockChars: 32 * 1024 };
    const threaded = processed(await analyse(log, { threads: 2, limits }));
    const single = processed(
      await analyse(log, { threads: 0, limits, outDir: join(dir, 'single') }),
    );
    expect(threaded.summary).toEqual(single.summary);
    expect(threaded.summary).toMatchObject({
      lines: 10_000,
      parsed: 9_999,
      unparsedExamples: [{ line: 8_001, text: 'not a log line' }],
      access: { statusClasses: { '2xx': 9_000, '5xx': 999 } },
      topTemplates: [{ template: 'GET /items/<n>', count: 9_999 }],
    });
    const back = await readParquet(
      threaded.parquet.files.map((f) => f.path),
      'source_line',
    );
    expect(back.rows.length).toBe(9_999);
    expect(back.rows[8_000]?.[13]).toBe('8002');
  });

  it("keeps a block's most frequent values and reports how far a count can be short", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3_000; i++) {
      // Every other line from one client, the rest each from a client of its own.
      const client = i % 2 === 0 ? '10.0.0.1' : `10.1.${i >> 8}.${i & 255}`;
      lines.push(
        `${client} - - [01/Dec/2026:10:00:00 +0000] "GET /items/${i % 3} HTTP/1.1" 200 1 "-" "agent"`,
      );
    }
    const outcome = processed(await analyse(lines.join('\n')));
    expect(outcome.summary.access?.topClients[0]).toEqual({ client: '10.0.0.1', count: 1_500 });
    expect(outcome.summary.access?.topPaths).toEqual([
      { path: '/items/0', count: 1_000 },
      { path: '/items/1', count: 1_000 },
      { path: '/items/2', count: 1_000 },
    ]);
    // 1,500 clients seen once: the block sent its 1,000 most frequent, so any other could be
    // short by one.
    expect(outcome.summary.topCountMaxError).toBe(1);
  });

  it('reads the common log format', async () => {
    const outcome = processed(
      await analyse(
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n',
      ),
    );
    expect(outcome.summary.format).toBe('common');
    expect(outcome.summary.timeRange?.from).toBe('2000-10-10T20:55:36.000Z');
    expect(outcome.parquet.columns.map((c) => c.name)).not.toContain('user_agent');
  });

  it('reads JSON lines with their levels, epoch or ISO times, and keeps every field', async () => {
    const log = [
      '{"time":"2026-12-01T10:00:00.123456Z","level":"INFO","msg":"user 42 logged in from 10.1.2.3"}',
      '{"ts":1796119200,"severity":"error","message":"payment 7f3a9c1e2b4d5f60 failed"}',
      '{"time":1796119260000,"level":50,"msg":"user 7 logged in from 10.9.9.9","extra":{"a":1}}',
      '{"msg":"no time here"}',
    ].join('\n');
    const outcome = processed(await analyse(log));
    expect(outcome.summary).toMatchObject({
      format: 'json',
      parsed: 4,
      levels: { error: 2, info: 1 },
      errorRate: 0.5,
      timeRange: { from: '2026-12-01T10:00:00.000Z', to: '2026-12-01T10:01:00.000Z' },
      topTemplates: [
        { template: 'user <n> logged in from <ip>', count: 2 },
        { template: 'no time here', count: 1 },
        { template: 'payment <hash> failed', count: 1 },
      ],
    });
    const back = await readParquet(
      outcome.parquet.files.map((f) => f.path),
      'source_line',
    );
    expect(back.rows.map((r) => r.slice(0, 3))).toEqual([
      ['2026-12-01 10:00:00.123456', 'info', 'user 42 logged in from 10.1.2.3'],
      ['2026-12-01 10:00:00', 'error', 'payment 7f3a9c1e2b4d5f60 failed'],
      ['2026-12-01 10:01:00', 'error', 'user 7 logged in from 10.9.9.9'],
      [null, null, 'no time here'],
    ]);
    expect(back.rows[2]?.[3]).toBe(
      '{"time":1796119260000,"level":50,"msg":"user 7 logged in from 10.9.9.9","extra":{"a":1}}',
    );
    // A line without a time goes to the upload's date.
    expect(outcome.parquet.files.map((f) => f.eventDate)).toEqual(['2026-12-01']);
  });

  it('writes one file per event date, however the lines jump between dates', async () => {
    // 12 dates taking turns line by line (more than a block keeps open at once), and lines
    // without a time, which join the upload's date (2026-12-01, also one of the 12).
    const dates = [...Array.from({ length: 11 }, (_, k) => `2026-11-${20 + k}`), '2026-12-01'];
    const lines: string[] = [];
    const perDate = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      if (i % 10 === 9) {
        lines.push(JSON.stringify({ level: 'info', msg: `no time ${i}` }));
        perDate.set('2026-12-01', (perDate.get('2026-12-01') ?? 0) + 1);
        continue;
      }
      const date = dates[i % 12] as string;
      lines.push(JSON.stringify({ time: `${date}T08:00:00Z`, level: 'info', msg: `line ${i}` }));
      perDate.set(date, (perDate.get(date) ?? 0) + 1);
    }
    const outcome = processed(
      await analyse(
        lines.join('\n'),
        { threads: 2, limits: { ...DEFAULT_LOG_LIMITS, blockChars: 8 * 1024 } },
        1000,
      ),
    );
    expect(outcome.parquet.files.map((f) => f.key)).toEqual(
      [...perDate.keys()].sort().map((d) => `event_date=${d}/f1_0.parquet`),
    );
    for (const file of outcome.parquet.files) {
      const back = await readParquet(file.path, 'source_line');
      expect(back.rows.length).toBe(perDate.get(file.eventDate));
    }
    const all = await readParquet(
      outcome.parquet.files.map((f) => f.path),
      'source_line',
    );
    expect(all.rows.map((r) => Number(r[r.length - 3]))).toEqual(lines.map((_, i) => i + 1));
  });

  it('reads syslog in both RFCs, taking the year of an RFC 3164 date from the upload', async () => {
    const rfc5424 = processed(
      await analyse(
        '<165>1 2026-11-30T22:14:15.003Z web1 nginx 4242 ID47 [exampleSDID@32473 iut="3"] \uFEFFconnection 5 reset\n',
      ),
    );
    expect(rfc5424.summary).toMatchObject({ format: 'syslog-rfc5424', levels: { notice: 1 } });
    const back = await readParquet(rfc5424.parquet.files[0]?.path ?? '');
    expect(back.rows[0]?.slice(0, 10)).toEqual([
      '2026-11-30 22:14:15.003',
      'notice',
      '20',
      '5',
      'web1',
      'nginx',
      '4242',
      'ID47',
      '[exampleSDID@32473 iut="3"]',
      'connection 5 reset',
    ]);
    const rfc3164 = processed(
      await analyse(
        "<34>Dec 24 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8\nNov  2 08:00:00 host cron: job 3 done\n",
        { outDir: join(dir, 'out2') },
      ),
    );
    expect(rfc3164.summary).toMatchObject({
      format: 'syslog-rfc3164',
      parsed: 2,
      levels: { critical: 1 },
      timeRange: { from: '2025-12-24T22:14:15.000Z', to: '2026-11-02T08:00:00.000Z' },
    });
  });

  it('reads "timestamp level message" text with mixed line endings', async () => {
    const outcome = processed(
      await analyse(
        '2026-12-01 10:00:00,250 ERROR disk /dev/sda1 at 91%\r2026-12-01T10:00:01Z [warn] retry 3\n2026-12-01 10:00:02 INFO ok\r\n',
        {},
        7,
      ),
    );
    expect(outcome.summary).toMatchObject({
      format: 'text',
      lines: 3,
      parsed: 3,
      levels: { error: 1, info: 1, warning: 1 },
      errorRate: 0.3333,
    });
  });

  it('rejects a log with no parsable line, an empty one and binary data', async () => {
    const outcome = await analyse('hello\nworld\n');
    expect(outcome).toEqual({
      status: 'REJECTED',
      reason:
        'No line of the file is in a known log format (JSON lines, combined or common access log, syslog RFC 5424 or 3164, "timestamp level message"); its first line reads: hello',
    });
    expect(await analyse('\n\n')).toEqual({
      status: 'REJECTED',
      reason: 'The log file has no lines.',
    });
    expect(await analyse(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0]))).toEqual({
      status: 'REJECTED',
      reason: 'The file is an ELF executable, not text.',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('stops a gzip bomb', async () => {
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024, '2026-12-01 10:00:00 INFO x\n'), {
      level: 9,
    });
    const outcome = await analyse(bomb, {
      limits: {
        maxDecompressedBytes: 4 * 1024 * 1024,
        maxLineChars: 1024,
        detectLines: 10,
        unparsedExamples: 5,
        top: 20,
        blockChars: 1024 * 1024,
      },
    });
    expect(outcome).toEqual({
      status: 'REJECTED',
      reason:
        'The gzip data inflates to more than 4.0 MiB, the limit for one file; reading stopped there.',
    });
  });
});

describe('damaged gzip', () => {
  it('is rejected with our sentence; zlib’s words stay in the cause, for the log', async () => {
    const gz = gzipSync(Buffer.from('2026-12-01 10:00:00 INFO x\n'.repeat(2000)));
    const outcome = await analyse(gz.subarray(0, gz.length - 20));
    expect(outcome.status).toBe('REJECTED');
    if (outcome.status !== 'REJECTED') return;
    expect(outcome.reason).toBe(
      'The file starts like gzip but is not valid gzip data: it is cut short or damaged.',
    );
    expect((outcome.cause as { code?: string } | undefined)?.code).toMatch(/^Z_/);
  });
});

describe('message templates', () => {
  it('replaces ids, addresses, hashes and numbers', () => {
    expect(
      messageTemplate(
        'req 3fa85f64-5717-4562-b3fc-2c963f66afa6 from 192.168.1.20:443 and fe80::1:2:3 sha d41d8cd98f00b204e9800998ecf8427e took 12.5 ms (0x1F)',
      ),
    ).toBe('req <id> from <ip> and <ip> sha <hash> took <n> ms (<n>)');
    expect(messageTemplate('deadbeefcafebabe is a word?')).toBe('deadbeefcafebabe is a word?');
  });

  it('keeps frequent values when there are more distinct values than it holds', () => {
    const counter = new TopCounter(10);
    for (let i = 0; i < 1000; i++) {
      counter.add('frequent');
      counter.add(`rare-${i}`);
    }
    expect(counter.top(1)).toEqual([{ value: 'frequent', count: 1000 }]);
    expect(counter.maxError).toBeGreaterThan(0);
  });
});
