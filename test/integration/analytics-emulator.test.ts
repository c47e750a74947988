import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '#shared/adapters/catalog.ts';
import { analyseLog, logCatalogColumns } from '#shared/processing/logs/analyse-log.ts';
import { convertTabular } from '#shared/processing/tabular/convert-tabular.ts';
import {
  type DatasetSchema,
  fromTableColumns,
  toTableColumns,
} from '#shared/processing/tabular/evolve-schema.ts';
import { emulatorClients, REGION } from '../support/emulator-resources.ts';
import { opener } from '../support/parquet.ts';

const endpoint = inject('emulatorEndpoint');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const { s3 } = emulatorClients(endpoint);
const glue = new GlueClient({ endpoint, region: REGION, credentials });
const athena = new AthenaClient({ endpoint, region: REGION, credentials });
const catalog = new Catalog(glue);

const id = randomBytes(4).toString('hex');
const bucket = `syncflow-analytics-${id}`;
const database = `syncflow_test_${id}`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncflow-analytics-'));
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await catalog.ensureDatabase(database, 'SyncFlow analytics (test)');
  await catalog.ensureDatabase(database);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const upload = async (key: string, path: string): Promise<void> => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }));
};

/** An Athena query as a client runs it: start, poll until done, read every page. */
const query = async (sql: string) => {
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      QueryExecutionContext: { Database: database },
      ResultConfiguration: { OutputLocation: `s3://${bucket}/athena-results/` },
    }),
  );
  const queryId = started.QueryExecutionId ?? '';
  for (let i = 0; ; i++) {
    const execution = await athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: queryId }),
    );
    const state = execution.QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED' || i > 100) {
      throw new Error(`query ${state}: ${execution.QueryExecution?.Status?.StateChangeReason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const rows: (string | null)[][] = [];
  let types: string[] = [];
  let token: string | undefined;
  do {
    const page = await athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: queryId, NextToken: token }),
    );
    types = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Type ?? '');
    for (const row of page.ResultSet?.Rows ?? []) {
      rows.push((row.Data ?? []).map((d) => d.VarCharValue ?? null));
    }
    token = page.NextToken;
  } while (token);
  // The first row of a SELECT's results is its column names, as Athena sends them.
  return { header: rows[0], rows: rows.slice(1), types };
};

/** One tabular upload, as the data function will do it: convert, write, catalogue. */
const ingestCsv = async (csv: string, uploadDate: string, fileId: string) => {
  const table = 'sales';
  const current = await catalog.columns(database, table);
  const dataset: DatasetSchema | undefined = current && fromTableColumns(current);
  const outcome = await convertTabular(opener(Buffer.from(csv)), {
    scratchDir: dir,
    outPath: join(dir, `${fileId}.parquet`),
    ...(dataset && { dataset }),
  });
  if (outcome.status !== 'PROCESSED') return outcome;
  await upload(
    `analytics/datasets/${table}/upload_date=${uploadDate}/${fileId}.parquet`,
    outcome.parquet.path,
  );
  const schema = outcome.dataset.schema;
  await catalog.putTable(
    {
      database,
      name: table,
      location: `s3://${bucket}/analytics/datasets/${table}/`,
      partition: { key: 'upload_date', from: '2024-01-01' },
    },
    (columns) =>
      columns === undefined || outcome.dataset.changed
        ? { columns: toTableColumns(schema) }
        : undefined,
  );
  return outcome;
};

describe('analytics on the emulator: Parquet in S3, Glue tables, Athena queries', () => {
  it('catalogues a dataset that grows a column and widens one, and queries it with Athena', async () => {
    const first = await ingestCsv(
      'id,score,region,price,seen_at\n1,10,eu,9.99,2026-12-01T10:00:00Z\n2,20,us,5.00,2026-12-01T11:30:00.5+01:00\n3,,eu,,\n',
      '2026-12-01',
      'f1',
    );
    expect(first.status).toBe('PROCESSED');
    const second = await ingestCsv(
      'id,score,region,channel\n4,2.5e0,eu,web\n5,7e0,us,shop\n',
      '2026-12-02',
      'f2',
    );
    expect(second).toMatchObject({
      status: 'PROCESSED',
      dataset: {
        added: ['channel'],
        widened: [{ sqlName: 'score', from: 'integer', to: 'double' }],
      },
    });

    const table = await glue.send(new GetTableCommand({ DatabaseName: database, Name: 'sales' }));
    expect(table.Table?.StorageDescriptor?.Columns).toEqual([
      { Name: 'id', Type: 'bigint', Comment: 'integer' },
      { Name: 'score', Type: 'double', Comment: 'double' },
      { Name: 'region', Type: 'string', Comment: 'string' },
      { Name: 'price', Type: 'decimal(3,2)', Comment: 'decimal(3,2)' },
      { Name: 'seen_at', Type: 'timestamp', Comment: 'timestamp with time zone' },
      { Name: 'channel', Type: 'string', Comment: 'string' },
    ]);
    expect(table.Table?.PartitionKeys).toEqual([{ Name: 'upload_date', Type: 'date' }]);
    expect(table.Table?.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.upload_date.type': 'date',
      'storage.location.template': `s3://${bucket}/analytics/datasets/sales/upload_date=\${upload_date}/`,
    });

    const all = await query(
      'SELECT id, score, region, channel, price, seen_at, upload_date FROM sales ORDER BY id',
    );
    expect(all.header).toEqual([
      'id',
      'score',
      'region',
      'channel',
      'price',
      'seen_at',
      'upload_date',
    ]);
    // The emulator reports decimal(38,0) as a decimal's precision and scale; AWS gives (3,2).
    expect(all.types).toEqual([
      'bigint',
      'double',
      'varchar',
      'varchar',
      'decimal',
      'timestamp',
      'date',
    ]);
    expect(all.rows).toEqual([
      ['1', '10.0', 'eu', null, '9.99', '2026-12-01 10:00:00', '2026-12-01'],
      ['2', '20.0', 'us', null, '5.00', '2026-12-01 10:30:00.500000', '2026-12-01'],
      ['3', null, 'eu', null, null, null, '2026-12-01'],
      ['4', '2.5', 'eu', 'web', null, null, '2026-12-02'],
      ['5', '7.0', 'us', 'shop', null, null, '2026-12-02'],
    ]);
    const byDay = await query(
      `SELECT upload_date, count(*) AS n, sum(score) AS total FROM ${database}.sales WHERE upload_date >= DATE '2026-12-01' GROUP BY upload_date ORDER BY upload_date`,
    );
    expect(byDay.rows).toEqual([
      ['2026-12-01', '3', '30.0'],
      ['2026-12-02', '2', '9.5'],
    ]);

    const third = await ingestCsv('id,score,region\n6,7,north pole\n', '2026-12-03', 'f3');
    expect(third.status).toBe('PROCESSED');
    const wrong = await ingestCsv('id,score,region\nsix,7,eu\n', '2026-12-03', 'f4');
    expect(wrong).toEqual({
      status: 'REJECTED',
      reason:
        'The file does not fit its dataset: column "id" is string in this file but integer in the dataset.',
      malformed: { count: 0, examples: [] },
    });
  });

  it('keeps both new columns when two files evolve one table at the same time', async () => {
    const table = {
      database,
      name: 'races',
      location: `s3://${bucket}/analytics/datasets/races/`,
      partition: { key: 'upload_date', from: '2024-01-01' },
    };
    const base = [{ name: 'id', type: 'bigint', comment: 'integer' }];
    await catalog.putTable(table, () => ({ columns: base }));
    const adding =
      (name: string) => (columns: readonly { name: string; type: string }[] | undefined) => {
        const current = columns ?? [];
        return current.some((c) => c.name === name)
          ? undefined
          : { columns: [...current, { name, type: 'string', comment: 'string' }] };
      };
    const results = await Promise.all([
      catalog.putTable(table, adding('from_a')),
      catalog.putTable(table, adding('from_b')),
      catalog.putTable(table, adding('from_c')),
    ]);
    expect(results).toEqual(['updated', 'updated', 'updated']);
    const names = (await catalog.columns(database, 'races'))?.map((c) => c.name);
    expect(names?.slice(0, 1)).toEqual(['id']);
    expect(names?.slice(1).sort()).toEqual(['from_a', 'from_b', 'from_c']);
  });

  it('archives an access log by event date and counts it with Athena', async () => {
    const log = [
      '10.0.0.1 - - [30/Nov/2026:23:59:58 +0000] "GET /a/1 HTTP/1.1" 200 512 "-" "curl/8"',
      '10.0.0.2 - - [01/Dec/2026:00:00:01 +0000] "GET /a/2 HTTP/1.1" 503 0 "-" "curl/8"',
      '10.0.0.1 - - [01/Dec/2026:00:00:02 +0000] "POST /login HTTP/1.1" 404 12 "-" "curl/8"',
    ].join('\n');
    const outcome = await analyseLog(opener(Buffer.from(log)), {
      scratchDir: dir,
      outDir: join(dir, 'log-out'),
      fileId: 'log1',
      referenceTime: new Date('2026-12-01T12:00:00Z'),
    });
    if (outcome.status !== 'PROCESSED') throw new Error(outcome.reason);
    for (const file of outcome.parquet.files) {
      await upload(`analytics/logs/combined/${file.key}`, file.path);
    }
    await catalog.putTable(
      {
        database,
        name: 'logs_combined',
        location: `s3://${bucket}/analytics/logs/combined/`,
        partition: { key: 'event_date', from: '2000-01-01' },
      },
      (columns) => (columns === undefined ? { columns: logCatalogColumns('combined') } : undefined),
    );
    const result = await query(
      "SELECT event_date, count(*) AS n, count_if(status >= 500) AS errors, min(event_time) AS first FROM logs_combined WHERE event_date BETWEEN DATE '2026-11-30' AND DATE '2026-12-01' GROUP BY event_date ORDER BY event_date",
    );
    expect(result.types).toEqual(['date', 'bigint', 'bigint', 'timestamp']);
    expect(result.rows).toEqual([
      ['2026-11-30', '1', '0', '2026-11-30 23:59:58'],
      ['2026-12-01', '2', '1', '2026-12-01 00:00:01'],
    ]);
  });
});
