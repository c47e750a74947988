import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { consoleOrigins, type RunningConsole, startConsoleServer } from './console-server.ts';
import { PROJECT_ROOT, type RunningEmulator, STATE_DIR, startMinistack } from './ministack.ts';
import { type RunningPglite, startPgliteServer } from './pglite-server.ts';
import { signInUser } from './users.ts';

/**
 * The whole stack on this machine with no AWS account, for `npm start` and the end-to-end tests:
 * MiniStack on 127.0.0.1, PostgreSQL (embedded PGlite served on 127.0.0.1, or a given URL), the
 * real CDK app deployed with `-c stage=local` into the emulator, a demo user, and what a client
 * needs written to .syncflow/local.json.
 */
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const STEP_TIMEOUT_MS = 10 * 60_000;
const DEMO_USER = { email: 'demo@syncflow.local', password: 'Demo-password-1!' };

/** What `.syncflow/local.json` holds: how other tools and tests find the running stack. */
export interface LocalStackInfo {
  readonly endpoint: string;
  readonly region: string;
  readonly restUrl: string;
  /** Connect with `?token=` and the same token as the REST API. */
  readonly websocketUrl: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly databaseUrl: string;
  readonly demoUser: { readonly email: string; readonly password: string };
  readonly token: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** The web console, served on loopback by `npm start` (absent when the stack was deployed without it). */
  readonly consoleUrl?: string;
}

/** An RDS Data API endpoint the local stage's functions use, and the database it names. */
export interface DataApiTarget {
  readonly endpoint: string;
  readonly database: string;
}

export interface LocalStack {
  readonly info: LocalStackInfo;
  stop(): Promise<void>;
}

export const LOCAL_JSON = join(STATE_DIR, 'local.json');

/** The stack `npm start` left running, if .syncflow/local.json names one that still answers. */
export const findRunningLocalStack = async (): Promise<LocalStackInfo | undefined> => {
  if (!existsSync(LOCAL_JSON)) return undefined;
  const info = JSON.parse(readFileSync(LOCAL_JSON, 'utf8')) as LocalStackInfo;
  try {
    const health = await fetch(`${info.restUrl}health`, { signal: AbortSignal.timeout(3000) });
    return health.ok ? info : undefined;
  } catch {
    return undefined;
  }
};

/** Runs a command with inherited output, failing after `STEP_TIMEOUT_MS` instead of hanging. */
const run = (
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  quiet: boolean,
): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
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

/**
 * Starts MiniStack and PostgreSQL, deploys SyncFlow-local into the emulator and signs in a demo
 * user. On failure everything started is stopped again.
 */
export const startLocalStack = async (options: {
  emulatorPort: number;
  pgPort: number;
  /** Where the web console is served; its origin is the stage's CORS origin. */
  consolePort: number;
  databaseUrl?: string;
  /**
   * The functions reach the database through an RDS Data API (the tests' double) at this
   * address, with the AWS driver, instead of node-postgres.
   */
  dataApi?: DataApiTarget;
  log?: (message: string) => void;
  /** Hide the CDK tools' progress output. */
  quiet?: boolean;
}): Promise<LocalStack> => {
  const log = options.log ?? (() => {});
  const quiet = options.quiet ?? false;
  let emulator: RunningEmulator | undefined;
  let pglite: RunningPglite | undefined;
  let consoleServer: RunningConsole | undefined;
  const stop = async (): Promise<void> => {
    await consoleServer?.stop().catch(() => {});
    await emulator?.stop().catch(() => {});
    await pglite?.stop().catch(() => {});
  };
  try {
    return { info: await deploy(), stop };
  } catch (error) {
    await stop();
    throw error;
  }

  async function deploy(): Promise<LocalStackInfo> {
    const EMULATOR_PORT = options.emulatorPort;
    const PG_PORT = options.pgPort;
    mkdirSync(STATE_DIR, { recursive: true });
    log(`Starting MiniStack on 127.0.0.1:${EMULATOR_PORT} (log: .syncflow/ministack.log)`);
    emulator = await startMinistack({
      port: EMULATOR_PORT,
      logFile: join(STATE_DIR, 'ministack.log'),
      region: REGION,
      dataDir: join(STATE_DIR, 's3'),
    });
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      log(
        `Starting embedded PostgreSQL (PGlite) on 127.0.0.1:${PG_PORT}, data in .syncflow/pglite`,
      );
      pglite = await startPgliteServer({ port: PG_PORT, dataDir: join(STATE_DIR, 'pglite') });
      databaseUrl = pglite.url;
    }
    const deployed = await deployToEmulator({
      endpoint: emulator.endpoint,
      databaseUrl,
      log,
      quiet,
      ...(options.dataApi && { dataApi: options.dataApi }),
      corsOrigins: consoleOrigins(options.consolePort),
    });
    log(`Serving the web console on 127.0.0.1:${options.consolePort}`);
    consoleServer = await startConsoleServer({
      port: options.consolePort,
      outDir: join(STATE_DIR, 'console'),
      endpoint: deployed.endpoint,
      config: {
        stage: 'local',
        restUrl: deployed.restUrl,
        websocketUrl: deployed.websocketUrl,
        region: deployed.region,
        userPoolClientId: deployed.userPoolClientId,
        userPoolId: deployed.userPoolId,
        cognitoEndpoint: `${deployed.endpoint}/`,
        demoUser: deployed.demoUser,
      },
    });
    const info = { ...deployed, consoleUrl: consoleServer.url };
    writeFileSync(LOCAL_JSON, `${JSON.stringify(info, null, 2)}\n`);
    return info;
  }
};

/**
 * Deploys SyncFlow-local into an emulator that is already running (MiniStack, or LocalStack for
 * the `localstack` target of the end-to-end suite), against the PostgreSQL at `databaseUrl`, signs
 * in the demo user and writes .syncflow/local.json.
 */
export const deployToEmulator = async (options: {
  endpoint: string;
  databaseUrl: string;
  /**
   * Where the functions find the emulator and the database, when they run elsewhere than this
   * process (LocalStack runs them in containers); by default the same as above.
   */
  functions?: { readonly endpoint: string; readonly databaseUrl: string };
  /** The functions use the Data API driver against this endpoint (`-c dataApiEndpoint`). */
  dataApi?: DataApiTarget;
  log: (message: string) => void;
  quiet: boolean;
  /** Browser origins the API and the bucket answer (CORS); any origin when not given. */
  corsOrigins?: readonly string[];
}): Promise<LocalStackInfo> => {
  const { log, quiet } = options;
  const awsEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: options.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    CDK_DEFAULT_ACCOUNT: ACCOUNT,
    CDK_DEFAULT_REGION: REGION,
  };
  log('Bootstrapping CDK in the emulator');
  await run('npx', ['cdk', 'bootstrap', `aws://${ACCOUNT}/${REGION}`, '--quiet'], awsEnv, quiet);
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
      `databaseUrl=${options.functions?.databaseUrl ?? options.databaseUrl}`,
      '-c',
      `emulatorEndpoint=${options.functions?.endpoint ?? options.endpoint}`,
      ...(options.dataApi
        ? [
            '-c',
            `dataApiEndpoint=${options.dataApi.endpoint}`,
            '-c',
            `dataApiDatabase=${options.dataApi.database}`,
          ]
        : []),
      ...(options.corsOrigins ? ['-c', `corsOrigins=${options.corsOrigins.join(',')}`] : []),
      '--require-approval',
      'never',
      '--outputs-file',
      outputsFile,
      '--progress',
      'events',
    ],
    awsEnv,
    quiet,
  );
  const outputs = (
    JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>
  )['SyncFlow-local'];
  if (!outputs) throw new Error(`No SyncFlow-local outputs in ${outputsFile}`);
  const userPoolId = outputs.UserPoolId ?? '';
  const clientId = outputs.UserPoolClientId ?? '';
  const restApiId = outputs.RestApiId ?? '';
  const cognito = new CognitoIdentityProviderClient({
    endpoint: options.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const token = await signInUser(
    cognito,
    { userPoolId, userPoolClientId: clientId },
    DEMO_USER.email,
    DEMO_USER.password,
  );
  // The emulator's data plane: REST at /_aws/execute-api/{apiId}/{stage}/ (DESIGN.md).
  const restUrl = `${options.endpoint}/_aws/execute-api/${restApiId}/local/`;
  const websocketUrl = `${options.endpoint.replace(/^http/, 'ws')}/_aws/execute-api/${outputs.WebSocketApiId ?? ''}/local`;
  const local: LocalStackInfo = {
    endpoint: options.endpoint,
    region: REGION,
    restUrl,
    websocketUrl,
    userPoolId,
    userPoolClientId: clientId,
    databaseUrl: options.databaseUrl,
    demoUser: { email: DEMO_USER.email, password: DEMO_USER.password },
    token,
    outputs,
  };
  writeFileSync(LOCAL_JSON, `${JSON.stringify(local, null, 2)}\n`);
  return local;
};
