import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeDBEngineVersionsCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  GetEmailIdentityCommand,
  GetAccountCommand as GetSesAccountCommand,
  NotFoundException,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stageConfig } from '../../../infra/stages.ts';
import {
  type CheckResult,
  formatResults,
  type PreflightClients,
  runPreflight,
} from '../../../scripts/lib/preflight.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const config = { region: 'us-east-1', credentials };
const clients: PreflightClients = {
  cloudFormation: new CloudFormationClient(config),
  rds: new RDSClient(config),
  apiGateway: new APIGatewayClient(config),
  lambda: new LambdaClient(config),
  ses: new SESv2Client(config),
};
const cfn = mockClient(clients.cloudFormation);
const rds = mockClient(clients.rds);
const apigw = mockClient(clients.apiGateway);
const lambda = mockClient(clients.lambda);
const ses = mockClient(clients.ses);

const byCheck = (results: CheckResult[]) =>
  Object.fromEntries(results.map((r) => [r.check, r])) as Record<string, CheckResult>;

/** A fresh account: bootstrapped, every default quota, SES in the sandbox. */
const freshAccount = () => {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'CDKToolkit',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '29' }],
      },
    ],
  });
  rds.on(DescribeDBEngineVersionsCommand, { EngineVersion: '17.7' }).resolves({
    DBEngineVersions: [
      { EngineVersion: '17.7', ServerlessV2FeaturesSupport: { MinCapacity: 0, MaxCapacity: 256 } },
    ],
  });
  apigw.on(GetAccountCommand).resolves({});
  lambda.on(GetAccountSettingsCommand).resolves({
    AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 },
  });
  ses.on(GetSesAccountCommand).resolves({ ProductionAccessEnabled: false });
  ses.on(GetEmailIdentityCommand).rejects(new NotFoundException({ message: 'no', $metadata: {} }));
};

describe('npm run preflight', () => {
  beforeEach(() => {
    for (const mock of [cfn, rds, apigw, lambda, ses]) mock.reset();
    freshAccount();
  });

  it('passes a bootstrapped account with room for the processor, saying what it found', async () => {
    const results = await runPreflight(clients, stageConfig('prod'), '17.7');
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const found = byCheck(results);
    expect(found['CDK bootstrap']?.message).toMatch(/version 29/);
    expect(found['API Gateway logging role']?.message).toMatch(/not set yet/);
    expect(found['Lambda concurrency']?.message).toMatch(/1000 unreserved of 1000 \(needs 55\)/);
    expect(found.SES?.message).toMatch(/no emails/);
  });

  it('says to bootstrap when CDKToolkit is missing or broken', async () => {
    const missing = new Error('Stack with id CDKToolkit does not exist');
    missing.name = 'ValidationError';
    cfn.on(DescribeStacksCommand).rejects(missing);
    let found = byCheck(await runPreflight(clients, stageConfig('prod'), '17.7'));
    expect(found['CDK bootstrap']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/no CDKToolkit stack: run `npx cdk bootstrap`/),
    });
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 'CDKToolkit', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date() },
      ],
    });
    found = byCheck(await runPreflight(clients, stageConfig('prod'), '17.7'));
    expect(found['CDK bootstrap']?.message).toMatch(/ROLLBACK_COMPLETE/);
  });

  it('fails on an Aurora version the region withdrew, naming the newest it offers on any page', async () => {
    rds.reset();
    // Two pages in no order, the newest of major 17 on the second, and a minor past 9.
    const pages: Record<string, { versions: string[]; next?: string }> = {
      first: { versions: ['17.10', '16.9', '17.8', '16.4-limitless'], next: 'page-2' },
      'page-2': { versions: ['17.9', '17.11', '16.10'] },
    };
    // Markers as each call saw them: the SDK's paginator reuses one input object.
    const markers: (string | undefined)[] = [];
    rds
      .on(DescribeDBEngineVersionsCommand)
      .callsFake((input: { EngineVersion?: string; Marker?: string }) => {
        if (input.EngineVersion) return { DBEngineVersions: [] };
        markers.push(input.Marker);
        const page = pages[input.Marker ?? 'first'];
        if (!page) throw new Error(`unknown marker ${input.Marker}`);
        return {
          DBEngineVersions: page.versions.map((v) => ({ EngineVersion: v })),
          ...(page.next && { Marker: page.next }),
        };
      });
    let found = byCheck(await runPreflight(clients, stageConfig('prod'), '17.7'));
    expect(found['Aurora PostgreSQL version']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining(
        "17.7 is not offered here; the newest offered of major 17 is 17.11 (then 17.10, 17.9): set AURORA_POSTGRES_VERSION in infra/constructs/metadata.ts to AuroraPostgresEngineVersion.of('17.11', '17')",
      ),
    });
    expect(markers).toEqual([undefined, 'page-2']);
    // A major the region no longer offers at all: the newest of any major.
    found = byCheck(await runPreflight(clients, stageConfig('prod'), '15.4'));
    expect(found['Aurora PostgreSQL version']?.message).toMatch(
      /^15\.4 is not offered here; the newest offered \(none of major 15 is\) is 17\.11 \(then 17\.10, 17\.9\)/,
    );
  });

  it("fails when dev's 0 ACU is below what the version scales down to", async () => {
    rds.on(DescribeDBEngineVersionsCommand, { EngineVersion: '17.7' }).resolves({
      DBEngineVersions: [
        { EngineVersion: '17.7', ServerlessV2FeaturesSupport: { MinCapacity: 0.5 } },
      ],
    });
    const found = byCheck(await runPreflight(clients, stageConfig('dev'), '17.7'));
    expect(found['Aurora PostgreSQL version']).toMatchObject({ status: 'fail' });
    expect(
      byCheck(await runPreflight(clients, stageConfig('prod'), '17.7'))['Aurora PostgreSQL version']
        ?.status,
    ).toBe('ok');
  });

  it("fails when a new account's concurrency quota is below the processor's cap", async () => {
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });
    const found = byCheck(await runPreflight(clients, stageConfig('prod'), '17.7'));
    expect(found['Lambda concurrency']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/10 unreserved of 10.*at least 55 in Service Quotas/),
    });
  });

  it('warns about the SES sandbox and refuses to create a sender identity twice', async () => {
    const stage = stageConfig('prod', { notificationSender: 'files@example.com' });
    let found = byCheck(await runPreflight(clients, stage, '17.7'));
    expect(found['SES sandbox']?.status).toBe('warn');
    expect(found['SES sender identity']).toMatchObject({
      status: 'ok',
      message: /will be created/,
    });
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    found = byCheck(await runPreflight(clients, stage, '17.7'));
    expect(found['SES sender identity']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/notificationSenderIdentity=existing/),
    });
    const reuse = stageConfig('prod', {
      notificationSender: 'files@example.com',
      notificationSenderIdentity: 'existing',
    });
    expect(byCheck(await runPreflight(clients, reuse, '17.7'))['SES sender identity']?.status).toBe(
      'ok',
    );
  });

  it('reports a check it could not make, keeps going, and prints one line per check', async () => {
    apigw
      .on(GetAccountCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const results = await runPreflight(clients, stageConfig('prod'), '17.7');
    expect(results).toHaveLength(5);
    expect(byCheck(results)['API Gateway logging role']).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/could not check \(AccessDeniedException: denied\)/),
    });
    const lines = formatResults(results).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^FAIL {2}API Gateway logging role: could not check/);
  });
});
