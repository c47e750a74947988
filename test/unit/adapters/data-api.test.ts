import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '#shared/adapters/db/connect.ts';
import { toNamedParameters } from '#shared/adapters/db/data-api.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import { tracer } from '#shared/observability/powertools.ts';

/**
 * The Data API cannot run here (no Aurora), so this checks what the repository sends through it
 * and how it reads what comes back: one statement per call against the configured cluster,
 * named parameters with the types spelled in the SQL, rows as records with their column
 * metadata, with Aurora's text timestamps and jsonb read like the other drivers' values. The
 * service's own behaviour is reproduced by the Data API double (test/integration/data-api.test.ts).
 */
const rds = mockClient(RDSDataClient);
const FILE = '0f8fad5b-d9cb-469f-a165-70867728950e';
const config = {
  driver: 'data-api' as const,
  resourceArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:syncflow',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
  database: 'syncflow',
  client: new RDSDataClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  }),
};

const sent = () => rds.commandCalls(ExecuteStatementCommand).map((call) => call.args[0].input);

/** A row as the Data API returns it: timestamps as UTC text, jsonb as JSON text. */
const auroraRow = {
  file_id: FILE,
  owner_id: 'alice',
  filename: 'Zoë.png',
  declared_content_type: 'image/png',
  declared_size: 3,
  checksum_sha256: null,
  bucket: 'b',
  object_key: `uploads/alice/${FILE}`,
  status: 'PROCESSED',
  size: 3,
  content_type: 'image/png',
  sha256: 'a'.repeat(64),
  metadata: '{"image":{"format":"png","width":1,"height":1}}',
  derivatives: '[]',
  reason: null,
  object_version: 'v1',
  created_at: '2026-11-29 10:00:00.123',
  updated_at: '2026-11-29 10:00:01.5',
  processed_at: '2026-11-29 10:00:01.5',
};

describe('the repository through the RDS Data API', () => {
  beforeEach(() => {
    rds.reset();
    rds.on(ExecuteStatementCommand).resolves({ records: [], columnMetadata: [] });
  });

  it('addresses the cluster with its secret, with named parameters and types in the SQL', async () => {
    const repository = new FileRepository((await openDatabase(config)).db);
    const deadline = new Date('2026-11-29T10:05:00.000Z');
    expect(
      await repository.startProcessing(FILE, {
        objectVersion: 'v1',
        versionId: 'v1',
        attempts: 2,
        deadline,
      }),
    ).toBeUndefined();
    const [statement] = sent();
    expect(statement).toMatchObject({
      resourceArn: config.resourceArn,
      secretArn: config.secretArn,
      database: 'syncflow',
      includeResultMetadata: true,
    });
    expect(statement?.formatRecordsAs).toBeUndefined();
    expect(statement?.sql).toMatch(/^UPDATE files SET status = 'PROCESSING'/);
    expect(statement?.sql).toMatch(/file_id = :p1::uuid/);
    expect(statement?.sql).toMatch(/updated_at = :p6::timestamptz/);
    expect(statement?.sql).not.toMatch(/\$\d/);
    const [id, version, , attempts, until, at] = statement?.parameters ?? [];
    expect(id).toEqual({ name: 'p1', value: { stringValue: FILE } });
    expect(version).toEqual({ name: 'p2', value: { stringValue: 'v1' } });
    expect(attempts).toEqual({ name: 'p4', value: { longValue: 2 } });
    expect(until).toEqual({ name: 'p5', value: { stringValue: deadline.toISOString() } });
    expect(at?.value?.stringValue).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('sends metadata and derivatives as JSON text cast to jsonb, numbers as numbers, nulls as nulls', async () => {
    const repository = new FileRepository((await openDatabase(config)).db);
    await repository.finish(FILE, {
      status: 'PROCESSED',
      objectVersion: 'v1',
      size: 3,
      contentType: 'image/png',
      sha256: 'a'.repeat(64),
      metadata: { image: { format: 'png', width: 1, height: 1 } },
      derivatives: [],
      reason: null,
    });
    const [statement] = sent();
    expect(statement?.sql).toMatch(/metadata = :p7::jsonb, derivatives = :p8::jsonb/);
    const values = (statement?.parameters ?? []).map((p) => p.value);
    expect(values[3]).toEqual({ longValue: 3 });
    expect(values[6]).toEqual({ stringValue: '{"image":{"format":"png","width":1,"height":1}}' });
    expect(values[7]).toEqual({ stringValue: '[]' });
    expect(values[8]).toEqual({ isNull: true });
  });

  it("reads Aurora's records: UTC text timestamps, jsonb as text, by column metadata", async () => {
    const entries = Object.entries(auroraRow);
    rds.on(ExecuteStatementCommand).resolves({
      columnMetadata: entries.map(([name]) => ({ name, label: name })),
      records: [
        entries.map(([, value]) => {
          if (value === null) return { isNull: true };
          return typeof value === 'number' ? { longValue: value } : { stringValue: value };
        }),
      ],
    });
    const repository = new FileRepository((await openDatabase(config)).db);
    const file = await repository.get(FILE);
    expect(file).toMatchObject({
      fileId: FILE,
      filename: 'Zoë.png',
      size: 3,
      metadata: { image: { format: 'png', width: 1, height: 1 } },
      derivatives: [],
      checksumSha256: null,
    });
    expect(file?.createdAt.toISOString()).toBe('2026-11-29T10:00:00.123Z');
    expect(file?.processedAt?.toISOString()).toBe('2026-11-29T10:00:01.500Z');
  });

  it('casts the keyset cursor values in SQL, so plain string parameters compare as their types', async () => {
    const repository = new FileRepository((await openDatabase(config)).db);
    const page = await repository.list({
      ownerId: 'alice',
      sort: '-createdAt',
      limit: 10,
      after: { value: '2026-11-29T00:00:00.000Z', fileId: FILE },
    });
    expect(page.items).toEqual([]);
    const [statement] = sent();
    expect(statement?.sql).toMatch(/\(created_at, file_id\) < \(:p2::timestamptz, :p3::uuid\)/);
    expect(statement?.sql).toMatch(/LIMIT :p4$/);
    expect(statement?.parameters?.[3]?.value).toEqual({ longValue: 11 });
  });

  it('runs migrations in transactions it commits, and rolls back one that fails', async () => {
    rds.on(BeginTransactionCommand).resolves({ transactionId: 'tx-1' });
    rds.on(CommitTransactionCommand).resolves({});
    rds.on(RollbackTransactionCommand).resolves({});
    const { db } = await openDatabase(config);
    await db.transaction((tx) => tx.query('SELECT 1'));
    expect(sent().at(-1)?.transactionId).toBe('tx-1');
    expect(rds.commandCalls(CommitTransactionCommand)).toHaveLength(1);
    await expect(
      db.transaction(async () => {
        throw new Error('bad statement');
      }),
    ).rejects.toThrow('bad statement');
    expect(rds.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });

  it('makes its own client when given none, captured by the tracer like every SDK client', async () => {
    const capture = vi.spyOn(tracer, 'captureAWSv3Client');
    try {
      const { client: _given, ...fromEnvironment } = config;
      await openDatabase(fromEnvironment);
      expect(capture).toHaveBeenCalledTimes(1);
      expect(capture.mock.calls[0]?.[0]).toBeInstanceOf(RDSDataClient);
    } finally {
      capture.mockRestore();
    }
  });

  it('names parameters outside quoted strings only', () => {
    expect(toNamedParameters("SELECT $1, '$2 is text', $10")).toBe(
      "SELECT :p1, '$2 is text', :p10",
    );
  });
});
