import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { GetBucketTaggingCommand, PutBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
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
/** The user every local stack makes, whose password the CLI and the console read from local.json. */
export const DEMO_USER = { email: 'demo@syncflow.local', password: 'Demo-password-1!' };

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

/**
 * Where `npm start` keeps its stack between starts: .syncflow, or SYNCFLOW_STATE_DIR (the test
 * of the kept stack runs `npm start` in a folder of its own, never touching a developer's). The
 * emulator's install stays in .syncflow either way.
 */
export const KEPT_DIR = process.env.SYNCFLOW_STATE_DIR || STATE_DIR;

/**
 * Where the stack `npm start` keeps is named, for the CLI, the scripts and the tests;
 * SYNCFLOW_LOCAL_JSON names another (a test stack's, which never rewrites this one).
 */
export const LOCAL_JSON = process.env.SYNCFLOW_LOCAL_JSON || join(KEPT_DIR, 'local.json');

/** Every 15 s of a deploy, how far CloudFormation got (from the events in the deploy's log). */
const deployProgress = (logFile: string, log: (message: string) => void) => {
  const started = Date.now();
  const timer = setInterval(() => {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const counts = [...text.matchAll(/SyncFlow-local \|\s*(\d+)\/(\d+) \|/g)].at(-1);
    const seconds = Math.round((Date.now() - started) / 1000);
    log(
      counts
        ? `  … ${seconds} s: ${counts[1]} of ${counts[2]} resources`
        : `  … ${seconds} s: building the functions' bundles`,
    );
  }, 15_000);
  return timer;
};

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

/**
 * How a step's output is shown: inherited (a developer watching), hidden (tests), or appended
 * to a log file (npm start: CDK's progress, cdk-nag's notes and Node.js's warnings are kept
 * there, not on the console).
 */
export type StepOutput = 'inherit' | 'hidden' | { readonly logFile: string };

/** Runs a command, failing after `STEP_TIMEOUT_MS` instead of hanging. */
const run = (
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  output: StepOutput,
): Promise<void> =>
  new Promise((resolve, reject) => {
    const fd = typeof output === 'object' ? openSync(output.logFile, 'a') : undefined;
    const child = spawn(command, args, {
      cwd: PROJECT_ROOT,
      env,
      stdio:
        fd !== undefined
          ? ['ignore', fd, fd]
          : ['ignore', output === 'hidden' ? 'ignore' : 'inherit', 'inherit'],
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
      if (fd !== undefined) closeSync(fd);
      if (code === 0) resolve();
      else {
        const where =
          typeof output === 'object'
            ? `; the end of ${output.logFile}:\n${tail(output.logFile, 25)}`
            : '';
        reject(new Error(`${command} ${args.slice(0, 2).join(' ')} exited with ${code}${where}`));
      }
    });
  });

/** The last lines of a log, for an error message. */
const tail = (file: string, lines: number): string =>
  existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';

/** Where `npm start` keeps what survives a restart (the tests' stacks keep nothing). */
const KEPT = {
  emulator: join(KEPT_DIR, 'emulator'),
  s3: join(KEPT_DIR, 's3'),
  pglite: join(KEPT_DIR, 'pglite'),
  deployed: join(KEPT_DIR, 'deployed.json'),
};

/**
 * The emulator port a kept state was made on. The emulator keeps every queue under a URL that
 * names its port (read here from its saved queues), and its pollers find no queue under another
 * port: a kept state only works on the port it was made on.
 */
const keptEmulatorPort = (): number | undefined => {
  const queues = join(KEPT.emulator, 'sqs.json');
  if (!existsSync(queues)) return undefined;
  const port = /"url": "https?:\/\/[^"/]+:(\d+)\//.exec(readFileSync(queues, 'utf8'))?.[1];
  return port === undefined ? undefined : Number(port);
};

/** The bucket tag and the settings row that name the state both halves were last saved in. */
const GENERATION_TAG = 'syncflow-generation';
const GENERATION_SETTING = 'local_generation';

const awsClientConfig = (endpoint: string) => ({
  endpoint,
  region: REGION,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/** The outputs of a stack the emulator holds, when it holds it complete. */
const stackOutputs = async (
  endpoint: string,
  stackName: string,
): Promise<Record<string, string> | undefined> => {
  const cloudFormation = new CloudFormationClient(awsClientConfig(endpoint));
  try {
    const found = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = found.Stacks?.[0];
    if (!stack?.StackStatus?.endsWith('_COMPLETE') || stack.StackStatus.includes('DELETE'))
      return undefined;
    return Object.fromEntries(
      (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch {
    return undefined;
  } finally {
    cloudFormation.destroy();
  }
};

/** The generation the emulator's bucket and the database each say they are in. */
const readGenerations = async (endpoint: string, databaseUrl: string) => {
  let emulator: string | undefined;
  const bucket = (await stackOutputs(endpoint, 'SyncFlow-local'))?.BucketName;
  if (bucket) {
    const s3 = new S3Client({ ...awsClientConfig(endpoint), forcePathStyle: true });
    emulator = await s3
      .send(new GetBucketTaggingCommand({ Bucket: bucket }))
      .then((t) => t.TagSet?.find((tag) => tag.Key === GENERATION_TAG)?.Value)
      .catch(() => undefined)
      .finally(() => s3.destroy());
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let database: string | undefined;
  let migrated = false;
  try {
    const found = await client.query<{ value: string }>(
      'SELECT value FROM settings WHERE name = $1',
      [GENERATION_SETTING],
    );
    database = found.rows[0]?.value;
    migrated = true;
  } catch {
    // No settings table: a database nothing was deployed against yet.
  } finally {
    await client.end();
  }
  return {
    emulator,
    database,
    hasStack: bucket !== undefined,
    /** Rows of a stack the emulator no longer has (or of another run's) would point at nothing. */
    disagree: emulator !== database || (migrated && bucket === undefined),
  };
};

/**
 * Marks the emulator's bucket and the database with one new generation. The emulator saves
 * its state only when it is stopped gracefully: after a crash it comes back with the
 * generation of its last save, the database with this one, and the next start sees they
 * disagree.
 */
const writeGeneration = async (endpoint: string, bucket: string, databaseUrl: string) => {
  const generation = randomUUID();
  const s3 = new S3Client({ ...awsClientConfig(endpoint), forcePathStyle: true });
  try {
    const current = await s3
      .send(new GetBucketTaggingCommand({ Bucket: bucket }))
      .then((t) => t.TagSet ?? [])
      .catch(() => []);
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: {
          TagSet: [
            ...current.filter((tag) => tag.Key !== GENERATION_TAG),
            { Key: GENERATION_TAG, Value: generation },
          ],
        },
      }),
    );
  } finally {
    s3.destroy();
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO settings (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
      [GENERATION_SETTING, generation],
    );
  } finally {
    await client.end();
  }
};

/**
 * What a deploy depends on: the sources of the app and its functions, the lock file and the
 * deploy's own settings. The same fingerprint as the last deploy into a kept emulator state
 * means there is nothing to deploy.
 */
const deployFingerprint = (settings: unknown): string => {
  const hash = createHash('sha256').update(JSON.stringify(settings));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(path).update(readFileSync(join(PROJECT_ROOT, path)));
    }
  };
  for (const dir of ['infra', 'functions', 'shared', 'migrations']) walk(dir);
  for (const file of ['package-lock.json', 'cdk.json', 'tsconfig.json']) {
    hash.update(file).update(readFileSync(join(PROJECT_ROOT, file)));
  }
  return hash.digest('hex');
};

/**
 * Starts MiniStack and PostgreSQL, deploys SyncFlow-local into the emulator (unless a kept state
 * already holds this very deploy) and signs in a demo user. On failure everything started is
 * stopped again.
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
  /** Where the CDK tools' output goes (overrides `quiet`). */
  output?: StepOutput;
  /**
   * Keep everything between starts (npm start): the emulator's state in .syncflow/emulator,
   * the bucket's objects in .syncflow/s3, the database in .syncflow/pglite. Off, each start
   * begins empty (the test suites' throwaway stacks).
   */
  persist?: boolean;
  /** With `persist`: throw away what was kept and start clean. */
  reset?: boolean;
}): Promise<LocalStack> => {
  const log = options.log ?? (() => {});
  const output: StepOutput = options.output ?? (options.quiet ? 'hidden' : 'inherit');
  const persist = options.persist ?? false;
  // A throwaway stack keeps its objects and rows in a folder of its own, removed when it stops,
  // so it never touches what `npm start` keeps.
  const scratch = persist ? undefined : mkdtempSync(join(tmpdir(), 'syncflow-local-'));
  // Its CDK assembly, outputs, console build and emulator log too: two throwaway stacks (the
  // end-to-end suite's two passes) may deploy from one checkout at the same time, and neither
  // registers in .syncflow/local.json, which names the stack `npm start` keeps for the CLI.
  const dirs = scratch
    ? {
        s3: join(scratch, 's3'),
        pglite: join(scratch, 'pglite'),
        work: scratch,
        console: join(scratch, 'console'),
        emulatorLog: join(scratch, 'ministack.log'),
      }
    : {
        s3: KEPT.s3,
        pglite: KEPT.pglite,
        // A kept stack elsewhere than .syncflow deploys from a CDK assembly of its own, so it
        // never mixes assets with a developer's `npm start` from the same checkout.
        work: KEPT_DIR === STATE_DIR ? undefined : KEPT_DIR,
        console: join(KEPT_DIR, 'console'),
        emulatorLog: join(KEPT_DIR, 'ministack.log'),
      };
  let emulator: RunningEmulator | undefined;
  let pglite: RunningPglite | undefined;
  let consoleServer: RunningConsole | undefined;
  const stop = async (): Promise<void> => {
    await consoleServer?.stop().catch(() => {});
    await emulator?.stop().catch(() => {});
    await pglite?.stop().catch(() => {});
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };
  try {
    return { info: await deploy(), stop };
  } catch (error) {
    await stop();
    throw error;
  }

  async function startStores(): Promise<string> {
    log(
      `Starting MiniStack on 127.0.0.1:${options.emulatorPort} (log: ${dirs.emulatorLog.replace(`${PROJECT_ROOT}/`, '')})`,
    );
    emulator = await startMinistack({
      port: options.emulatorPort,
      logFile: dirs.emulatorLog,
      region: REGION,
      dataDir: dirs.s3,
      ...(persist && { stateDir: KEPT.emulator }),
      log,
    });
    if (options.databaseUrl) return options.databaseUrl;
    log(
      `Starting embedded PostgreSQL (PGlite) on 127.0.0.1:${options.pgPort}${persist ? `, data in ${KEPT.pglite.replace(`${PROJECT_ROOT}/`, '')}` : ''}`,
    );
    pglite = await startPgliteServer({ port: options.pgPort, dataDir: dirs.pglite });
    return pglite.url;
  }

  function wipe(): void {
    for (const path of [KEPT.emulator, KEPT.s3, KEPT.deployed, LOCAL_JSON]) {
      rmSync(path, { recursive: true, force: true });
    }
    if (!options.databaseUrl) rmSync(KEPT.pglite, { recursive: true, force: true });
  }

  async function deploy(): Promise<LocalStackInfo> {
    mkdirSync(STATE_DIR, { recursive: true });
    mkdirSync(KEPT_DIR, { recursive: true });
    if (persist && !options.reset) {
      const kept = keptEmulatorPort();
      if (kept !== undefined && kept !== options.emulatorPort) {
        throw new Error(
          `The kept stack was made with the emulator on port ${kept}: its queues and API addresses name that port, and on port ${options.emulatorPort} uploads would be taken but never processed. Start it on its own port (SYNCFLOW_EMULATOR_PORT=${kept} npm start), or start clean on this one (npm start -- --reset).`,
        );
      }
    }
    if (persist && options.reset) {
      log('Starting clean (--reset): the emulator state, the bucket and the database are emptied');
      wipe();
    }
    let databaseUrl = await startStores();
    if (persist) {
      const found = await readGenerations(emulator?.endpoint ?? '', databaseUrl);
      if (found.disagree) {
        if (options.databaseUrl) {
          // That database is the user's own: never emptied here, not even by --reset.
          throw new Error(
            options.reset
              ? '--reset emptied the emulator but not the database at DATABASE_URL, which still holds the rows of files that are gone; empty that database (drop and create it), then start again'
              : 'The emulator state and the database at DATABASE_URL are not from the same run (the emulator was stopped without saving its state); empty that database, then `npm start -- --reset`',
          );
        }
        log(
          found.hasStack
            ? 'The emulator state and the database were not saved together (the emulator was stopped without saving, a crash or a kill): starting clean, so no file points at nothing'
            : 'The emulator kept no state (it was stopped without saving, a crash or a kill) while the database did: starting clean, so no file points at nothing',
        );
        await emulator?.stop();
        await pglite?.stop();
        emulator = undefined;
        pglite = undefined;
        wipe();
        databaseUrl = await startStores();
      }
    }
    const deployed = await deployToEmulator({
      endpoint: emulator?.endpoint ?? '',
      databaseUrl,
      log,
      quiet: output === 'hidden',
      output,
      reuse: persist,
      register: persist,
      ...(dirs.work && { workDir: dirs.work }),
      ...(options.dataApi && { dataApi: options.dataApi }),
      corsOrigins: consoleOrigins(options.consolePort),
    });
    if (persist) {
      await writeGeneration(deployed.endpoint, deployed.outputs.BucketName ?? '', databaseUrl);
    }
    log(`Serving the web console on 127.0.0.1:${options.consolePort}`);
    consoleServer = await startConsoleServer({
      port: options.consolePort,
      outDir: dirs.console,
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
    if (persist) writeFileSync(LOCAL_JSON, `${JSON.stringify(info, null, 2)}\n`);
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
  /** Where the CDK tools' output goes (overrides `quiet`). */
  output?: StepOutput;
  /**
   * Skip the deploy when the emulator holds SyncFlow-local from a deploy of the same sources and
   * settings (a kept state after a restart): nothing would change.
   */
  reuse?: boolean;
  /** Write .syncflow/local.json, by which the CLI and the tests find the stack. @default true */
  register?: boolean;
  /**
   * Where the CDK assembly and the outputs file go; by default cdk.out and .syncflow. A deploy
   * of its own needs one of its own: two deploys into one folder mix their assets.
   */
  workDir?: string;
  /** Browser origins the API and the bucket answer (CORS); any origin when not given. */
  corsOrigins?: readonly string[];
}): Promise<LocalStackInfo> => {
  const { log } = options;
  const output: StepOutput = options.output ?? (options.quiet ? 'hidden' : 'inherit');
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
  const contextArgs = [
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
  ];
  const fingerprint = deployFingerprint(contextArgs);
  const kept =
    options.reuse && existsSync(KEPT.deployed)
      ? (JSON.parse(readFileSync(KEPT.deployed, 'utf8')) as { fingerprint?: string })
      : undefined;
  let outputs =
    kept?.fingerprint === fingerprint
      ? await stackOutputs(options.endpoint, 'SyncFlow-local')
      : undefined;
  if (outputs) {
    log('SyncFlow-local is deployed already with these sources and settings: nothing to deploy');
  } else {
    const logNote =
      typeof output === 'object'
        ? ` (details: ${output.logFile.replace(`${PROJECT_ROOT}/`, '')})`
        : '';
    const workBase = options.workDir ?? (options.reuse ? KEPT_DIR : undefined);
    if (!(await stackOutputs(options.endpoint, 'CDKToolkit'))) {
      log(`Bootstrapping CDK in the emulator${logNote}`);
      await run(
        'npx',
        [
          'cdk',
          'bootstrap',
          `aws://${ACCOUNT}/${REGION}`,
          // Never into the deploy's assembly: the CLI may synthesize the app there, without the
          // stage's context, and a kept assembly must stay the one its mark names.
          ...(workBase ? ['--output', join(workBase, 'cdk.bootstrap.out')] : []),
        ],
        awsEnv,
        output,
      );
    }
    // A kept stack's assembly stays in its own folder, marked with the fingerprint it was made
    // from: a start that must deploy again the same sources and settings (after --reset, or a
    // state that was not saved) deploys that assembly instead of bundling every function anew.
    const assemblyDir = workBase && join(workBase, 'cdk.out');
    const assemblyMark = assemblyDir && join(assemblyDir, 'syncflow-fingerprint.json');
    const synthesized =
      options.reuse &&
      assemblyMark !== undefined &&
      existsSync(assemblyMark) &&
      (JSON.parse(readFileSync(assemblyMark, 'utf8')) as { fingerprint?: string }).fingerprint ===
        fingerprint;
    if (assemblyMark && !synthesized) rmSync(assemblyMark, { force: true });
    log(
      `Deploying SyncFlow-local, the same constructs and handlers as in AWS (${synthesized ? 'the bundles of its last deploy, same sources and settings' : 'a minute or two'})${logNote}`,
    );
    const outputsFile = join(options.workDir ?? STATE_DIR, 'outputs.json');
    const progress = typeof output === 'object' ? deployProgress(output.logFile, log) : undefined;
    try {
      await run(
        'npx',
        [
          'cdk',
          'deploy',
          ...(synthesized && assemblyDir ? ['--app', assemblyDir] : contextArgs),
          '--require-approval',
          'never',
          '--outputs-file',
          outputsFile,
          ...(assemblyDir && !synthesized ? ['--output', assemblyDir] : []),
          '--progress',
          'events',
        ],
        awsEnv,
        output,
      );
    } finally {
      if (progress) clearInterval(progress);
    }
    outputs = (
      JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>
    )['SyncFlow-local'];
    if (!outputs) throw new Error(`No SyncFlow-local outputs in ${outputsFile}`);
    if (options.reuse)
      writeFileSync(KEPT.deployed, `${JSON.stringify({ fingerprint }, null, 2)}\n`);
    if (options.reuse && assemblyMark)
      writeFileSync(assemblyMark, `${JSON.stringify({ fingerprint }, null, 2)}\n`);
  }
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
  // The emulator's data plane: REST at /_aws/execute-api/{apiId}/{stage}/ (docs/architecture.md).
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
  if (options.register ?? true) writeFileSync(LOCAL_JSON, `${JSON.stringify(local, null, 2)}\n`);
  return local;
};
