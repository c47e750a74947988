import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '#shared/adapters/db/connect.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';

/**
 * The Data API cannot run here (no Aurora), so this checks what the repository sends through it:
 * one statement per call, against the configured cluster, with the type hints Aurora needs to
 * read uuid, jsonb and timestamp parameters.
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

describe('the repository through the RDS Data API', () => {
  beforeEach(() => {
    rds.reset();
    rds.on(ExecuteStatementCommand).resolves({ records: [] });
  });

  it('addresses the cluster with its secret and hints uuid and timestamp parameters', async () => {
    const repository = new FileRepository((await openDatabase(config)).db);
    expect(await repository.startProcessing(FILE, 'v1')).toBeUndefined();
    const [statement] = sent();
    expect(statement).toMatchObject({
      resourceArn: config.resourceArn,
      secretArn: config.secretArn,
      database: 'syncflow',
    });
    expect(statement?.sql).toMatch(/^update "files" set/);
    const hints = Object.fromEntries(
      (statement?.parameters ?? []).map((p) => [p.typeHint ?? 'none', p.value]),
    );
    expect(hints.UUID).toEqual({ stringValue: FILE });
    expect(hints.TIMESTAMP?.stringValue).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
  });

  it('sends metadata and derivatives as JSON', async () => {
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
    const json = (sent()[0]?.parameters ?? [])
      .filter((p) => p.typeHint === 'JSON')
      .map((p) => p.value?.stringValue);
    expect(json).toEqual(['{"image":{"format":"png","width":1,"height":1}}', '[]']);
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
    expect(statement?.sql).toMatch(
      /\("files"\."created_at", "files"\."file_id"\) < \(:\d+::timestamptz, :\d+::uuid\)/,
    );
    expect(statement?.sql).toMatch(/limit :\d+$/);
  });
});
