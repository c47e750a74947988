import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsTarget, resolveTarget } from '../support/targets.ts';

const outputsFile = (content: unknown): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'syncflow-outputs-')), 'outputs.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
};

const dev = {
  RestApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/dev',
  WebSocketUrl: 'wss://def.execute-api.eu-west-1.amazonaws.com/dev',
  Region: 'eu-west-1',
  UserPoolId: 'eu-west-1_x',
  UserPoolClientId: 'client',
  IngestQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/ingest',
  ConsoleUrl: 'https://d111111abcdef8.cloudfront.net/',
};

describe('the aws target of the end-to-end suite', () => {
  it('is read from the file of cdk deploy --outputs-file, with the default credential chain', () => {
    const target = awsTarget({ SYNCFLOW_OUTPUTS_FILE: outputsFile({ 'SyncFlow-dev': dev }) });
    expect(target).toMatchObject({
      name: 'aws',
      region: 'eu-west-1',
      restUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/dev/',
      userPoolId: 'eu-west-1_x',
      consoleUrl: 'https://d111111abcdef8.cloudfront.net/',
      aws: { region: 'eu-west-1' },
    });
    expect(target.aws.endpoint).toBeUndefined();
  });

  it('says what is missing: the file, the stack to pick, an output', () => {
    expect(() => awsTarget({})).toThrow(/SYNCFLOW_OUTPUTS_FILE/);
    expect(() => awsTarget({ SYNCFLOW_OUTPUTS_FILE: '/nonexistent/outputs.json' })).toThrow(
      /does not exist/,
    );
    const both = outputsFile({ 'SyncFlow-dev': dev, 'SyncFlow-prod': dev });
    expect(() => awsTarget({ SYNCFLOW_OUTPUTS_FILE: both })).toThrow(/SYNCFLOW_STACK/);
    expect(awsTarget({ SYNCFLOW_OUTPUTS_FILE: both, SYNCFLOW_STACK: 'SyncFlow-prod' }).name).toBe(
      'aws',
    );
    const { UserPoolId: _pool, ...partial } = dev;
    expect(() =>
      awsTarget({ SYNCFLOW_OUTPUTS_FILE: outputsFile({ 'SyncFlow-dev': partial }) }),
    ).toThrow(/UserPoolId/);
  });

  it('refuses an unknown target and a LocalStack that is not running', async () => {
    await expect(resolveTarget({ SYNCFLOW_TARGET: 'staging' }, () => {})).rejects.toThrow(
      /not one of local, localstack, aws/,
    );
    await expect(
      resolveTarget(
        { SYNCFLOW_TARGET: 'localstack', LOCALSTACK_ENDPOINT: 'http://127.0.0.1:9' },
        () => {},
      ),
    ).rejects.toThrow(/docker compose/);
  });
});
