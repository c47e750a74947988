import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { PROJECT_ROOT, type RunningEmulator, STATE_DIR, startMinistack } from './lib/ministack.ts';
import { type RunningPglite, startPgliteServer } from './lib/pglite-server.ts';

/**
 * `npm start`: the whole stack on this machine with no AWS account. Starts MiniStack on
 * 127.0.0.1, PostgreSQL (embedded PGlite served on 127.0.0.1, or DATABASE_URL), deploys the real
 * CDK app with `-c stage=local` into the emulator, creates a demo user and writes what a client
 * needs to .syncflow/local.json. Ctrl-C stops every process it started.
 */
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const EMULATOR_PORT = Number(process.env.SYNCFLOW_EMULATOR_PORT ?? 4566);
const PG_PORT = Number(process.env.SYNCFLOW_PG_PORT ?? 5433);
const STEP_TIMEOUT_MS = 10 * 60_000;
const DEMO_USER = { email: 'demo@syncflow.local', password: 'Demo-password-1!' };

const log = (message: string): void => console.log(`[syncflow] ${message}`);

let emulator: RunningEmulator | undefined;
let pglite: RunningPglite | undefined;

const stopAll = async (): Promise<void> => {
  await emulator?.stop().catch(() => {});
  await pglite?.stop().catch(() => {});
};

/** Runs a command with inherited output, failing after `STEP_TIMEOUT_MS` instead of hanging. */
const run = (command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(
        new Error(
          `${command} ${args.join(' ')} took over ${STEP_TIMEOUT_MS / 60_000} minutes; stopped`,
        ),
      );
    }, STEP_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });

const main = async (): Promise<void> => {
  mkdirSync(STATE_DIR, { recursive: true });
  log(`Starting MiniStack on 127.0.0.1:${EMULATOR_PORT} (log: .syncflow/ministack.log)`);
  emulator = await startMinistack({
    port: EMULATOR_PORT,
    logFile: join(STATE_DIR, 'ministack.log'),
    region: REGION,
    dataDir: join(STATE_DIR, 's3'),
  });
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    log(`Starting embedded PostgreSQL (PGlite) on 127.0.0.1:${PG_PORT}, data in .syncflow/pglite`);
    pglite = await startPgliteServer({ port: PG_PORT, dataDir: join(STATE_DIR, 'pglite') });
    databaseUrl = pglite.url;
  }
  const awsEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    CDK_DEFAULT_ACCOUNT: ACCOUNT,
    CDK_DEFAULT_REGION: REGION,
  };
  log('Bootstrapping CDK in the emulator');
  await run('npx', ['cdk', 'bootstrap', `aws://${ACCOUNT}/${REGION}`, '--quiet'], awsEnv);
  log('Deploying SyncFlow-local (the same constructs and handlers as in AWS)');
  const outputsFile = join(STATE_DIR, 'outputs.json');
  await run(
    'npx',
    [
      'cdk',
      'deploy',
      '-c',
      'stage=local',
      '-c',
      `databaseUrl=${databaseUrl}`,
      '-c',
      `emulatorEndpoint=${emulator.endpoint}`,
      '--require-approval',
      'never',
      '--outputs-file',
      outputsFile,
      '--progress',
      'events',
    ],
    awsEnv,
  );
  const outputs = (
    JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>
  )['SyncFlow-local'];
  if (!outputs) throw new Error(`No SyncFlow-local outputs in ${outputsFile}`);
  const userPoolId = outputs.UserPoolId ?? '';
  const clientId = outputs.UserPoolClientId ?? '';
  const restApiId = outputs.RestApiId ?? '';
  const cognito = new CognitoIdentityProviderClient({
    endpoint: emulator.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await cognito
    .send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: DEMO_USER.email,
        MessageAction: 'SUPPRESS',
        UserAttributes: [
          { Name: 'email', Value: DEMO_USER.email },
          { Name: 'email_verified', Value: 'true' },
        ],
      }),
    )
    .catch((error: Error) => {
      if (error.name !== 'UsernameExistsException') throw error;
    });
  await cognito.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: userPoolId,
      Username: DEMO_USER.email,
      Password: DEMO_USER.password,
      Permanent: true,
    }),
  );
  const auth = await cognito.send(
    new InitiateAuthCommand({
      ClientId: clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: DEMO_USER.email, PASSWORD: DEMO_USER.password },
    }),
  );
  // The emulator's data plane: REST at /_aws/execute-api/{apiId}/{stage}/ (DESIGN.md).
  const restUrl = `${emulator.endpoint}/_aws/execute-api/${restApiId}/local/`;
  const local = {
    endpoint: emulator.endpoint,
    region: REGION,
    restUrl,
    userPoolId,
    userPoolClientId: clientId,
    databaseUrl,
    demoUser: { email: DEMO_USER.email, password: DEMO_USER.password },
    token: auth.AuthenticationResult?.IdToken ?? '',
    outputs,
  };
  writeFileSync(join(STATE_DIR, 'local.json'), `${JSON.stringify(local, null, 2)}\n`);
  log('SyncFlow is running locally.');
  log(`REST API:  ${restUrl}`);
  log(`Token:     export TOKEN=$(node -p "require('./.syncflow/local.json').token")`);
  log(
    `Try:       curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
  );
  log(
    `             -d '{"filename":"a.txt","contentType":"text/plain","size":5}' ${restUrl}uploads`,
  );
  log('Everything a client needs is in .syncflow/local.json. Ctrl-C stops it all.');
};

process.once('SIGINT', () => {
  log('Stopping');
  void stopAll().then(() => process.exit(0));
});
process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

main().catch(async (error: unknown) => {
  console.error(`[syncflow] ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  process.exit(1);
});
