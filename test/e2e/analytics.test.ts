import { randomBytes } from 'node:crypto';
import { constants, gzipSync } from 'node:zlib';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TabularMetadata } from '../../client/src/types.ts';
import {
  type ApiClient,
  type FileView,
  postForm,
  requestUpload,
  waitForFile,
} from '../support/api-client.ts';
import { freshUsers } from '../support/e2e-users.ts';

/**
 * Tabular data and logs through the deployed kinds' functions, queried back with Athena on the
 * same calls a client makes in AWS (StartQueryExecution, GetQueryExecution, GetQueryResults).
 * Nothing here leans on the emulator's Athena gaps (docs/analytics.md): no partition
 * projection, no Trino-only function, no column named by position.
 */
const target = inject('target');
const s3 = new S3Client({ ...target.aws, forcePathStyle: Boolean(target.aws.endpoint) });
const athena = new AthenaClient(target.aws);
const results = `syncflow-e2e-athena-${randomBytes(4).toString('hex')}`;
let alice: ApiClient;
let removeUsers: () => Promise<void>;

beforeAll(async () => {
  const fresh = await freshUsers(target, ['analyst']);
  alice = fresh.users[0]?.api as ApiClient;
  removeUsers = fresh.remove;
  await s3.send(
    new CreateBucketCommand({
      Bucket: results,
      ...(target.region !== 'us-east-1' && {
        CreateBucketConfiguration: { LocationConstraint: target.region as never },
      }),
    }),
  );
}, 60_000);

afterAll(async () => {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: results }));
  const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }));
  if (keys.length > 0) {
    await s3.send(new DeleteObjectsCommand({ Bucket: results, Delete: { Objects: keys } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: results }));
  await removeUsers?.();
});

/** Uploads bytes as a browser does, naming the kind and dataset when given; waits for the end. */
const send = async (
  filename: string,
  contentType: string,
  data: Buffer,
  extra: { kind?: string; dataset?: string } = {},
): Promise<FileView> => {
  const { fileId, form } = await requestUpload(alice, {
    filename,
    contentType,
    size: data.length,
    ...extra,
  });
  expect(await postForm(form, filename, contentType, data)).toBeLessThan(300);
  return waitForFile(alice, fileId, undefined, 120_000);
};

/** An Athena query as a client runs it: start, poll, then every page of results. */
const query = async (database: string, sql: string): Promise<(string | null)[][]> => {
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      QueryExecutionContext: { Database: database },
      ResultConfiguration: { OutputLocation: `s3://${results}/` },
    }),
  );
  for (let i = 0; ; i++) {
    const execution = await athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: started.QueryExecutionId }),
    );
    const state = execution.QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED' || i > 300) {
      throw new Error(`${sql}: ${state} ${execution.QueryExecution?.Status?.StateChangeReason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const rows: (string | null)[][] = [];
  let token: string | undefined;
  do {
    const page = await athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: started.QueryExecutionId, NextToken: token }),
    );
    for (const row of page.ResultSet?.Rows ?? []) {
      rows.push((row.Data ?? []).map((d) => d.VarCharValue ?? null));
    }
    token = page.NextToken;
  } while (token);
  // The first row is the header, as Athena sends it.
  return rows.slice(1);
};

const dataset = `orders_${randomBytes(3).toString('hex')}`;

describe('tabular data', () => {
  it('turns two CSV files of one dataset into one Athena table, the second adding a column', async () => {
    const first = await send(
      'orders-1.csv',
      'text/csv',
      Buffer.from('id,customer,amount,ordered\n1,Zoë,12.50,2026-11-01\n2,Bob,7.25,2026-11-02\n'),
      { dataset },
    );
    expect(first).toMatchObject({ status: 'PROCESSED', kind: 'tabular', dataset });
    const summary = first.metadata.tabular as TabularMetadata;
    expect(summary.rowCount).toBe(2);
    expect(summary.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['customer', 'string'],
      ['amount', 'decimal(4,2)'],
      ['ordered', 'date'],
    ]);
    expect(summary.preview.rows).toEqual([
      [1, 'Zoë', '12.50', '2026-11-01'],
      [2, 'Bob', '7.25', '2026-11-02'],
    ]);
    expect(first.derivatives.map((d) => d.name)).toEqual(['data.parquet']);

    const second = await send(
      'orders-2.csv',
      'text/csv',
      Buffer.from('id,customer,amount,ordered,region\n3,Cy,1.5,2026-11-03,EU\n'),
      { dataset },
    );
    expect(second).toMatchObject({ status: 'PROCESSED', dataset });
    const grown = second.metadata.tabular as TabularMetadata;
    expect(grown.added).toEqual(['region']);
    expect(grown.table.table).toBe(summary.table.table);

    const rows = await query(
      summary.table.database,
      `SELECT id, customer, amount, region FROM ${summary.table.table} ORDER BY id`,
    );
    expect(rows.map(([id, customer, , region]) => [id, customer, region])).toEqual([
      ['1', 'Zoë', null],
      ['2', 'Bob', null],
      ['3', 'Cy', 'EU'],
    ]);
    expect(rows.map((r) => Number(r[2]))).toEqual([12.5, 7.25, 1.5]);
    const [[count]] = (await query(
      summary.table.database,
      `SELECT count(*) AS n FROM ${summary.table.table} WHERE region IS NULL`,
    )) as [[string]];
    expect(count).toBe('2');
  }, 240_000);

  it('rejects a file whose type change the dataset cannot take, naming the column', async () => {
    const file = await send(
      'orders-3.csv',
      'text/csv',
      Buffer.from('id,customer,amount,ordered\nfour,Dee,2.00,2026-11-04\n'),
      { dataset },
    );
    expect(file.status).toBe('REJECTED');
    expect(file.reason).toMatch(/\bid\b/);
  }, 120_000);
});

describe('logs', () => {
  it('summarises an nginx log and makes its records queryable by their own event date', async () => {
    const lines = [
      '203.0.113.9 - - [30/Nov/2026:23:59:58 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.5"',
      '203.0.113.9 - - [01/Dec/2026:00:00:01 +0000] "GET /api/items?id=7 HTTP/1.1" 200 1024 "-" "curl/8.5"',
      '198.51.100.4 - - [01/Dec/2026:00:00:02 +0000] "POST /api/items HTTP/1.1" 500 0 "-" "app/1.0"',
      '198.51.100.4 - - [01/Dec/2026:00:00:03 +0000] "GET /missing HTTP/1.1" 404 12 "-" "app/1.0"',
      'this line is not an access log line',
    ];
    const file = await send('access.log', 'text/plain', Buffer.from(`${lines.join('\n')}\n`));
    expect(file).toMatchObject({ status: 'PROCESSED', kind: 'logs' });
    const logs = file.metadata.logs;
    expect(logs).toMatchObject({
      format: 'combined',
      lines: 5,
      parsed: 4,
      unparsed: 1,
      rows: 4,
      errorRate: 0.25,
      access: { statusClasses: { '2xx': 2, '4xx': 1, '5xx': 1 } },
    });
    expect(logs?.table.partitions).toEqual(['event_date=2026-11-30', 'event_date=2026-12-01']);
    const rows = await query(
      logs?.table.database ?? '',
      `SELECT event_date, status, count(*) AS n FROM ${logs?.table.table}
       WHERE file_id = '${file.fileId}' GROUP BY event_date, status ORDER BY event_date, status`,
    );
    expect(rows).toEqual([
      ['2026-11-30', '200', '1'],
      ['2026-12-01', '200', '1'],
      ['2026-12-01', '404', '1'],
      ['2026-12-01', '500', '1'],
    ]);
  }, 180_000);
});

describe('hostile data through the deployed functions', () => {
  it('ends a gzip bomb, a binary sent as CSV and a log with no parsable line, each with a reason', async () => {
    // 100 MiB of zeros in about 100 KiB: past the local stage's inflation limit (64 MiB).
    const bomb = gzipSync(Buffer.alloc(100 * 1024 ** 2, 0x30), {
      level: constants.Z_BEST_COMPRESSION,
    });
    const [bombed, binary, noise] = await Promise.all([
      send('bomb.csv.gz', 'application/gzip', bomb),
      send('really-binary.csv', 'application/octet-stream', randomBytes(64 * 1024), {
        kind: 'tabular',
      }),
      send('noise.log', 'text/plain', Buffer.from('nothing\nparsable in here\n')),
    ]);
    expect(bombed.status).toBe('REJECTED');
    expect(bombed.reason).toMatch(/inflate|decompress|gzip/i);
    expect(binary.status).toBe('REJECTED');
    expect(binary.reason).toMatch(/not tabular data|binary/);
    expect(noise.status).toBe('REJECTED');
    expect(noise.reason).toMatch(/No line of the file is in a known log format/);
  }, 180_000);
});
