import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeDBEngineVersionsCommand,
  paginateDescribeDBEngineVersions,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  GetEmailIdentityCommand,
  GetAccountCommand as GetSesAccountCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import type { StageConfig } from '../../infra/stages.ts';

/** One check's outcome: `fail` stops a first deploy, `warn` lets it through with a risk. */
export interface CheckResult {
  readonly check: string;
  readonly status: 'ok' | 'warn' | 'fail';
  /** What was found and, unless ok, what to do. */
  readonly message: string;
}

/** The read-only clients the checks use, built from the user's credentials and region. */
export interface PreflightClients {
  readonly cloudFormation: CloudFormationClient;
  readonly rds: RDSClient;
  readonly apiGateway: APIGatewayClient;
  readonly lambda: LambdaClient;
  readonly ses: SESv2Client;
}

export const defaultClients = (region?: string): PreflightClients => {
  const config = region ? { region } : {};
  return {
    cloudFormation: new CloudFormationClient(config),
    rds: new RDSClient(config),
    apiGateway: new APIGatewayClient(config),
    lambda: new LambdaClient(config),
    ses: new SESv2Client(config),
  };
};

/** The oldest bootstrap stack the CDK CLI of this repository deploys with. */
const MIN_BOOTSTRAP_VERSION = 6;
/** Concurrency left for the API, the notifier and the rest beside the processor's cap. */
const OTHER_FUNCTIONS_HEADROOM = 10;

const errorName = (error: unknown): string => (error as Error).name;

/** CDK's bootstrap stack (CDKToolkit) exists, is healthy and recent enough. */
export const checkBootstrap = async (clients: PreflightClients): Promise<CheckResult> => {
  const check = 'CDK bootstrap';
  const fix = 'run `npx cdk bootstrap` with these credentials and region';
  try {
    const { Stacks } = await clients.cloudFormation.send(
      new DescribeStacksCommand({ StackName: 'CDKToolkit' }),
    );
    const stack = Stacks?.[0];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    if (!/_COMPLETE$/.test(status) || /ROLLBACK|DELETE/.test(status)) {
      return { check, status: 'fail', message: `CDKToolkit is ${status}: ${fix}` };
    }
    const version = Number(
      stack?.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')?.OutputValue ?? 0,
    );
    if (version < MIN_BOOTSTRAP_VERSION) {
      return {
        check,
        status: 'fail',
        message: `CDKToolkit is version ${version}, below ${MIN_BOOTSTRAP_VERSION}: ${fix}`,
      };
    }
    return { check, status: 'ok', message: `CDKToolkit version ${version} (${status})` };
  } catch (error) {
    if (errorName(error) === 'ValidationError') {
      return { check, status: 'fail', message: `no CDKToolkit stack: ${fix}` };
    }
    throw error;
  }
};

/** A `major.minor` version's parts, or undefined for any other form (limitless and the like). */
const versionParts = (version: string): [number, number] | undefined => {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
};

/**
 * Every plain `major.minor` Aurora PostgreSQL version the region offers, newest first. All
 * pages: the service answers 100 versions a page in no promised order, so one page may miss
 * the newest, and a string sort puts 16.9 after 16.10.
 */
const offeredAuroraVersions = async (clients: PreflightClients): Promise<string[]> => {
  const versions = new Map<string, [number, number]>();
  for await (const page of paginateDescribeDBEngineVersions(
    { client: clients.rds },
    { Engine: 'aurora-postgresql' },
  )) {
    for (const { EngineVersion } of page.DBEngineVersions ?? []) {
      const parts = EngineVersion ? versionParts(EngineVersion) : undefined;
      if (EngineVersion && parts) versions.set(EngineVersion, parts);
    }
  }
  return [...versions]
    .sort(([, a], [, b]) => b[0] - a[0] || b[1] - a[1])
    .map(([version]) => version);
};

/** The stage's Aurora PostgreSQL version is offered in the region, at the stage's capacity. */
export const checkAuroraVersion = async (
  clients: PreflightClients,
  stage: StageConfig,
  version: string,
): Promise<CheckResult> => {
  const check = 'Aurora PostgreSQL version';
  if (stage.database.kind !== 'aurora') {
    return { check, status: 'ok', message: `stage ${stage.name} has no Aurora cluster` };
  }
  const { DBEngineVersions } = await clients.rds.send(
    new DescribeDBEngineVersionsCommand({ Engine: 'aurora-postgresql', EngineVersion: version }),
  );
  const offered = DBEngineVersions?.[0];
  if (!offered) {
    const major = version.split('.')[0];
    const versions = await offeredAuroraVersions(clients);
    const sameMajor = versions.filter((v) => v.split('.')[0] === major);
    const [newest, ...older] = sameMajor.length > 0 ? sameMajor : versions;
    if (!newest) {
      return {
        check,
        status: 'fail',
        message: `${version} is not offered here, nor any other: is the region right?`,
      };
    }
    const which = sameMajor.length > 0 ? `of major ${major}` : `(none of major ${major} is)`;
    const then = older.length > 0 ? ` (then ${older.slice(0, 2).join(', ')})` : '';
    return {
      check,
      status: 'fail',
      message: `${version} is not offered here; the newest offered ${which} is ${newest}${then}: set AURORA_POSTGRES_VERSION in infra/constructs/metadata.ts to AuroraPostgresEngineVersion.of('${newest}', '${newest.split('.')[0]}')`,
    };
  }
  const min = offered.ServerlessV2FeaturesSupport?.MinCapacity;
  if (min !== undefined && stage.database.minCapacity < min) {
    return {
      check,
      status: 'fail',
      message: `${version} scales down to ${min} ACU, not the stage's ${stage.database.minCapacity}: raise minCapacity in infra/stages.ts or pick a newer version`,
    };
  }
  return {
    check,
    status: 'ok',
    message: `${version} offered (Serverless v2 from ${min ?? '?'} ACU)`,
  };
};

/** API Gateway's account-wide CloudWatch role, which access logs need. */
export const checkApiGatewayRole = async (clients: PreflightClients): Promise<CheckResult> => {
  const check = 'API Gateway logging role';
  const { cloudwatchRoleArn } = await clients.apiGateway.send(new GetAccountCommand({}));
  return cloudwatchRoleArn
    ? {
        check,
        status: 'ok',
        message: `set to ${cloudwatchRoleArn}; the stack sets its own role (same permissions) in its place`,
      }
    : {
        check,
        status: 'ok',
        message: 'not set yet: the stack sets it before creating its stages',
      };
};

/** The account's Lambda concurrency leaves room for the processor's cap and the other functions. */
export const checkLambdaConcurrency = async (
  clients: PreflightClients,
  stage: StageConfig,
): Promise<CheckResult> => {
  const check = 'Lambda concurrency';
  const { AccountLimit } = await clients.lambda.send(new GetAccountSettingsCommand({}));
  const total = AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = AccountLimit?.UnreservedConcurrentExecutions ?? total;
  const processors = Object.values(stage.processing).reduce((n, k) => n + k.maxConcurrency, 0);
  const needed = processors + OTHER_FUNCTIONS_HEADROOM;
  if (unreserved < needed) {
    return {
      check,
      status: 'fail',
      message: `${unreserved} unreserved of ${total}; the kinds' functions may run ${processors} at once plus ${OTHER_FUNCTIONS_HEADROOM} for the others: request "Concurrent executions" of at least ${needed} in Service Quotas, or lower the kinds' maxConcurrency in infra/stages.ts (throttled files use up their ${stage.maxReceiveCount} deliveries)`,
    };
  }
  return { check, status: 'ok', message: `${unreserved} unreserved of ${total} (needs ${needed})` };
};

/** SES: out of the sandbox, and the sender identity neither missing nor made twice. */
export const checkSes = async (
  clients: PreflightClients,
  stage: StageConfig,
): Promise<CheckResult[]> => {
  if (!stage.notificationSender) {
    return [{ check: 'SES', status: 'ok', message: 'no notificationSender: no emails are sent' }];
  }
  const sender = stage.notificationSender;
  const account = await clients.ses.send(new GetSesAccountCommand({}));
  const sandbox: CheckResult = account.ProductionAccessEnabled
    ? { check: 'SES sandbox', status: 'ok', message: 'production access granted' }
    : {
        check: 'SES sandbox',
        status: 'warn',
        message:
          'the account is in the SES sandbox: owners get email only at addresses verified in SES; request production access in the SES console',
      };
  let identity: { VerifiedForSendingStatus?: boolean } | undefined;
  try {
    identity = await clients.ses.send(new GetEmailIdentityCommand({ EmailIdentity: sender }));
  } catch (error) {
    if (errorName(error) !== 'NotFoundException') throw error;
  }
  const check = 'SES sender identity';
  const existing = stage.notificationSenderIdentity === 'existing';
  let result: CheckResult;
  if (identity && !existing) {
    result = {
      check,
      status: 'fail',
      message: `${sender} is an SES identity already (another stage's?): creating it again fails; deploy with -c notificationSenderIdentity=existing`,
    };
  } else if (!identity && existing) {
    result = {
      check,
      status: 'fail',
      message: `${sender} is no SES identity here: drop notificationSenderIdentity=existing so the stack creates it`,
    };
  } else if (identity && !identity.VerifiedForSendingStatus) {
    result = {
      check,
      status: 'warn',
      message: `${sender} is not verified yet: open the link SES emailed to it`,
    };
  } else {
    result = {
      check,
      status: 'ok',
      message: identity
        ? `${sender} verified`
        : `${sender} will be created by the stack; open the link SES emails to it`,
    };
  }
  return [sandbox, result];
};

/** Every check, in order; a check that could not run says why instead of stopping the rest. */
export const runPreflight = async (
  clients: PreflightClients,
  stage: StageConfig,
  auroraVersion: string,
): Promise<CheckResult[]> => {
  const guarded = async (
    check: string,
    run: () => Promise<CheckResult | CheckResult[]>,
  ): Promise<CheckResult[]> => {
    try {
      return [await run()].flat();
    } catch (error) {
      return [
        {
          check,
          status: 'fail',
          message: `could not check (${errorName(error)}: ${(error as Error).message}); are credentials and region set?`,
        },
      ];
    }
  };
  return [
    ...(await guarded('CDK bootstrap', () => checkBootstrap(clients))),
    ...(await guarded('Aurora PostgreSQL version', () =>
      checkAuroraVersion(clients, stage, auroraVersion),
    )),
    ...(await guarded('API Gateway logging role', () => checkApiGatewayRole(clients))),
    ...(await guarded('Lambda concurrency', () => checkLambdaConcurrency(clients, stage))),
    ...(await guarded('SES', () => checkSes(clients, stage))),
  ];
};

/** One line per check: a mark, the check, and what was found or what to do. */
export const formatResults = (results: readonly CheckResult[]): string =>
  results
    .map((r) => `${{ ok: 'ok  ', warn: 'WARN', fail: 'FAIL' }[r.status]}  ${r.check}: ${r.message}`)
    .join('\n');
