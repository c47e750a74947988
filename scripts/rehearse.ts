import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { DB_ROLES } from '../shared/domain/db-roles.ts';
import { credentialsOf, startDataApiServer } from '../test/support/data-api-server.ts';
import { freePort } from '../test/support/ports.ts';
import { startPostgres } from '../test/support/postgres-server.ts';
import { PROJECT_ROOT, startMinistack } from './lib/ministack.ts';

/**
 * `npm run rehearse`: a first deploy of prod into an empty emulator, as into a fresh account,
 * to catch ordering and dependency mistakes before AWS does. Deploys the `prod-rehearsal`
 * stage (prod but for what the emulator cannot follow: infra/stages.ts, docs/deploy.md) into
 * MiniStack on free loopback ports, with the functions' Data API calls going to the Data API
 * double over a throwaway PostgreSQL, then reports the stack's state, what failed, and whether
 * the migrations ran. Stops everything it started.
 */
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const STACK = 'SyncFlow-prod-rehearsal';
const STEP_TIMEOUT_MS = 10 * 60_000;
const log = (message: string): void => console.log(`[rehearse] ${message}`);

const run = (args: string[], env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn('npx', args, { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGTERM'), STEP_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });

const state = mkdtempSync(join(tmpdir(), 'syncflow-rehearsal-'));
const emulator = await startMinistack({
  port: await freePort(),
  logFile: join(state, 'ministack.log'),
  region: REGION,
  dataDir: join(state, 's3'),
});
const postgres = await startPostgres();
const aws = {
  endpoint: emulator.endpoint,
  region: REGION,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};
const secrets = new SecretsManagerClient(aws);
// The emulator's cluster is a stub and its ARN is known only once it exists: the double answers
// for any cluster. A secret the emulator holds logs in as it says when it names one of the
// functions' roles (their passwords the migrator set from those very secrets), and as
// PostgreSQL's superuser otherwise (the cluster's admin secret names a user only Aurora has).
const functionRoles: ReadonlySet<string> = new Set(Object.values(DB_ROLES));
const double = await startDataApiServer({
  postgresUrl: postgres.url,
  clusterArn: (arn) => arn.startsWith('arn:aws:rds:'),
  secrets: async (arn) => {
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: arn })).catch(() => {});
    if (!secret?.SecretString) return undefined;
    const login = JSON.parse(secret.SecretString) as { username?: string; password?: string };
    return login.username && functionRoles.has(login.username) && login.password
      ? { username: login.username, password: login.password }
      : credentialsOf(postgres.url);
  },
});
let failed = true;
try {
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query('CREATE DATABASE syncflow');
  await admin.end();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    CDK_DEFAULT_ACCOUNT: ACCOUNT,
    CDK_DEFAULT_REGION: REGION,
  };
  log(`MiniStack at ${emulator.endpoint}, Data API double at ${double.endpoint}`);
  const bootstrapped = await run(['cdk', 'bootstrap', `aws://${ACCOUNT}/${REGION}`], env);
  log(`cdk bootstrap exited ${bootstrapped}`);
  const started = Date.now();
  const code = await run(
    [
      'cdk',
      'deploy',
      '-c',
      'stage=prod-rehearsal',
      '-c',
      `emulatorEndpoint=${emulator.endpoint}`,
      '-c',
      `dataApiEndpoint=${double.endpoint}`,
      '--require-approval',
      'never',
      '--progress',
      'events',
    ],
    env,
  );
  log(`cdk deploy exited ${code} after ${Math.round((Date.now() - started) / 1000)} s`);
  const cloudFormation = new CloudFormationClient(aws);
  const stack = (
    await cloudFormation.send(new DescribeStacksCommand({ StackName: STACK })).catch(() => ({
      Stacks: [],
    }))
  ).Stacks?.[0];
  log(`Stack ${STACK}: ${stack?.StackStatus ?? 'not found'}`);
  const events =
    (
      await cloudFormation.send(new DescribeStackEventsCommand({ StackName: STACK })).catch(() => ({
        StackEvents: [],
      }))
    ).StackEvents ?? [];
  const failures = events.filter((e) => /FAILED/.test(e.ResourceStatus ?? ''));
  for (const e of failures) {
    log(
      `  ${e.ResourceStatus} ${e.ResourceType} ${e.LogicalResourceId}: ${e.ResourceStatusReason}`,
    );
  }
  const check = new pg.Client({
    connectionString: postgres.url.replace(/\/postgres$/, '/syncflow'),
  });
  await check.connect();
  const applied = await check
    .query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id')
    .then((r) => r.rows.map((row) => row.id))
    .catch(() => []);
  await check.end();
  log(`Migrations applied through the Data API double: ${applied.join(', ') || 'none'}`);
  log(`Data API calls: ${JSON.stringify(double.calls)}`);
  failed = code !== 0 || !/_COMPLETE$/.test(stack?.StackStatus ?? '') || applied.length === 0;
} finally {
  await double.stop();
  await postgres.stop();
  await emulator.stop();
  log(`Emulator log: ${join(state, 'ministack.log')}`);
}
process.exit(failed ? 1 : 0);
