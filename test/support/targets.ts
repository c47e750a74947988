import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LOCAL_DATA_API } from '../../infra/stages.ts';
import {
  deployToEmulator,
  findRunningLocalStack,
  LOCAL_JSON,
  type LocalStack,
  type LocalStackInfo,
  startLocalStack,
} from '../../scripts/lib/local-stack.ts';
import { startPgliteServer } from '../../scripts/lib/pglite-server.ts';
import { startDatabaseProxy } from '../../scripts/lib/soak/db-proxy.ts';
import type { SoakDatabase } from '../../scripts/lib/soak/run-soak.ts';
import { localRolePassword } from '../../shared/adapters/db/role-passwords.ts';
import { DB_ROLES } from '../../shared/domain/db-roles.ts';
import { credentialsOf, type DataApiServer, startDataApiServer } from './data-api-server.ts';
import { freePort } from './ports.ts';
import { startPostgres } from './postgres-server.ts';

/**
 * A deployed SyncFlow the end-to-end suite runs against, as plain data (vitest hands it from
 * the global setup to the test files). `aws` clients take an endpoint and dummy credentials on
 * an emulator, and the default credential chain on AWS.
 */
export interface Target {
  readonly name: 'local' | 'localstack' | 'aws';
  readonly region: string;
  readonly restUrl: string;
  readonly websocketUrl: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** The web console, where the target serves one (the local stack). */
  readonly consoleUrl?: string;
  readonly aws: {
    readonly region: string;
    readonly endpoint?: string;
    readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
}

/** The target a stack deployed into an emulator is, from what `.syncflow/local.json` holds. */
export const fromEmulator = (name: 'local' | 'localstack', info: LocalStackInfo): Target => ({
  name,
  region: info.region,
  restUrl: info.restUrl,
  websocketUrl: info.websocketUrl,
  userPoolId: info.userPoolId,
  userPoolClientId: info.userPoolClientId,
  outputs: info.outputs,
  ...(info.consoleUrl && { consoleUrl: info.consoleUrl }),
  aws: {
    region: info.region,
    endpoint: info.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  },
});

/**
 * A real deployment, located by the file `cdk deploy --outputs-file` wrote
 * (SYNCFLOW_OUTPUTS_FILE); SYNCFLOW_STACK picks the stack when the file holds several.
 */
export const awsTarget = (env: NodeJS.ProcessEnv = process.env): Target => {
  const file = env.SYNCFLOW_OUTPUTS_FILE;
  if (!file) {
    throw new Error(
      'SYNCFLOW_TARGET=aws needs SYNCFLOW_OUTPUTS_FILE, the file of `npx cdk deploy -c stage=<stage> --outputs-file <file>`',
    );
  }
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`SYNCFLOW_OUTPUTS_FILE ${path} does not exist`);
  const stacks = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  const names = Object.keys(stacks).filter((n) => n.startsWith('SyncFlow-'));
  const name = env.SYNCFLOW_STACK ?? (names.length === 1 ? names[0] : undefined);
  const outputs = name ? stacks[name] : undefined;
  if (!outputs) {
    throw new Error(
      `${path} holds the stacks ${names.join(', ') || '(none)'}; name one with SYNCFLOW_STACK`,
    );
  }
  const required = [
    'RestApiUrl',
    'WebSocketUrl',
    'Region',
    'UserPoolId',
    'UserPoolClientId',
    'IngestQueueUrl',
  ];
  const missing = required.filter((key) => !outputs[key]);
  if (missing.length > 0) throw new Error(`${path} lacks the outputs ${missing.join(', ')}`);
  const region = outputs.Region as string;
  return {
    name: 'aws',
    region,
    restUrl: (outputs.RestApiUrl as string).replace(/\/?$/, '/'),
    websocketUrl: outputs.WebSocketUrl as string,
    userPoolId: outputs.UserPoolId as string,
    userPoolClientId: outputs.UserPoolClientId as string,
    outputs,
    // The console behind CloudFront, on stages that host it.
    ...(outputs.ConsoleUrl && { consoleUrl: outputs.ConsoleUrl }),
    aws: { region },
  };
};

/**
 * Where LocalStack's function containers find the emulator and PostgreSQL: the compose
 * services' names on the network LAMBDA_DOCKER_NETWORK names (docker-compose.localstack.yml).
 */
export const LOCALSTACK_FUNCTIONS_VIEW = {
  endpoint: 'http://localstack:4566',
  databaseUrl: 'postgres://postgres@postgres:5432/postgres',
} as const;

/**
 * LocalStack started by the user from docker-compose.localstack.yml (with their token), with the
 * compose file's PostgreSQL. LocalStack runs the functions in containers on the compose network,
 * where the emulator and the database have the services' names.
 */
const localstackTarget = async (
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
): Promise<Target> => {
  const endpoint = env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
  const health = await fetch(`${endpoint}/_localstack/health`).catch(() => undefined);
  if (!health?.ok) {
    throw new Error(
      `No LocalStack answers at ${endpoint}: start it with \`LOCALSTACK_AUTH_TOKEN=... docker compose -f docker-compose.localstack.yml up -d\``,
    );
  }
  log(`Deploying SyncFlow-local into LocalStack at ${endpoint}`);
  const info = await deployToEmulator({
    endpoint,
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5433/postgres',
    functions: LOCALSTACK_FUNCTIONS_VIEW,
    log,
    quiet: true,
  });
  return fromEmulator('localstack', info);
};

/**
 * The local stack with its functions on the Data API driver, as in AWS, through the Data API
 * double over a throwaway PostgreSQL server (SYNCFLOW_E2E_DATABASE=data-api): every statement of
 * the run crosses the same driver, SQL and protocol as in AWS.
 */
const dataApiLocalTarget = async (
  log: (message: string) => void,
): Promise<{ target: Target; started: LocalStack }> => {
  const postgres = await startPostgres();
  let double: DataApiServer | undefined;
  try {
    double = await startDataApiServer({
      postgresUrl: postgres.url,
      clusterArn: LOCAL_DATA_API.clusterArn,
      // The migrator logs in as the admin; the functions as their roles, whose passwords the
      // stack derives from the cluster's name (infra/constructs/metadata.ts) and the migrator
      // sets.
      secrets: {
        [LOCAL_DATA_API.secretArn]: credentialsOf(postgres.url),
        ...Object.fromEntries(
          (['read', 'write'] as const).map((access) => [
            LOCAL_DATA_API.roleSecretArns[access],
            {
              username: DB_ROLES[access],
              password: localRolePassword(LOCAL_DATA_API.clusterArn, DB_ROLES[access]),
            },
          ]),
        ),
      },
    });
    log(`Functions reach PostgreSQL through the Data API double at ${double.endpoint}`);
    const started = await startLocalStack({
      emulatorPort: await freePort(),
      pgPort: await freePort(),
      consolePort: await freePort(),
      databaseUrl: postgres.url,
      dataApi: { endpoint: double.endpoint, database: 'postgres' },
      quiet: true,
      log,
    });
    const stopDouble = double;
    return {
      target: fromEmulator('local', started.info),
      started: {
        info: started.info,
        stop: async () => {
          await started.stop();
          log(`The Data API double answered ${JSON.stringify(stopDouble.calls)}`);
          await stopDouble.stop();
          await postgres.stop();
        },
      },
    };
  } catch (error) {
    await double?.stop().catch(() => {});
    await postgres.stop();
    throw error;
  }
};

/**
 * The local stack of the suite's own, its functions reaching PGlite through a proxy the soak
 * can take away (scripts/lib/soak/db-proxy.ts); the database and the proxy's control address
 * are handed to the tests with the target.
 */
const proxiedLocalTarget = async (
  log: (message: string) => void,
): Promise<{ target: Target; started: LocalStack; database: SoakDatabase }> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'syncflow-e2e-pg-'));
  const pglite = await startPgliteServer({ port: await freePort(), dataDir });
  const proxy = await startDatabaseProxy(pglite.url).catch(async (error: unknown) => {
    await pglite.stop();
    throw error;
  });
  const stopStores = async () => {
    await proxy.stop();
    await pglite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const started = await startLocalStack({
      emulatorPort: await freePort(),
      pgPort: await freePort(),
      consolePort: await freePort(),
      databaseUrl: proxy.url,
      quiet: true,
      log,
    });
    return {
      target: fromEmulator('local', started.info),
      started: {
        info: started.info,
        stop: async () => {
          await started.stop();
          await stopStores();
        },
      },
      database: { directUrl: pglite.url, controlUrl: proxy.controlUrl },
    };
  } catch (error) {
    await stopStores();
    throw error;
  }
};

/**
 * A started stack's local.json in a folder of its own, for the CLI and the scripts the tests run
 * (SYNCFLOW_LOCAL_JSON); `stop` also removes it.
 */
const registered = (started: LocalStack): { started: LocalStack; localJson: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'syncflow-e2e-stack-'));
  const localJson = join(dir, 'local.json');
  writeFileSync(localJson, `${JSON.stringify(started.info, null, 2)}\n`);
  return {
    localJson,
    started: {
      info: started.info,
      stop: async () => {
        await started.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
};

/**
 * Resolves SYNCFLOW_TARGET: `local` (the default) reuses a running `npm start` or starts a stack
 * of its own on free loopback ports; `localstack` deploys into a running LocalStack; `aws` reads
 * a deployment's outputs file. Returns what to stop afterwards, if anything was started, and
 * the database behind its proxy when the stack is the suite's own (the soak's outages).
 */
export const resolveTarget = async (
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
): Promise<{
  target: Target;
  started?: LocalStack;
  database?: SoakDatabase;
  /** The local.json naming the stack, for the CLI and scripts (SYNCFLOW_LOCAL_JSON). */
  localJson?: string;
}> => {
  const name = env.SYNCFLOW_TARGET ?? 'local';
  switch (name) {
    case 'aws':
      return { target: awsTarget(env) };
    case 'localstack':
      return { target: await localstackTarget(env, log), localJson: LOCAL_JSON };
    case 'local': {
      if (env.SYNCFLOW_E2E_DATABASE === 'data-api') {
        const own = await dataApiLocalTarget(log);
        return { ...own, ...registered(own.started) };
      }
      const running = await findRunningLocalStack();
      if (running) return { target: fromEmulator('local', running), localJson: LOCAL_JSON };
      const own = await proxiedLocalTarget(log);
      return { ...own, ...registered(own.started) };
    }
    default:
      throw new Error(`SYNCFLOW_TARGET=${name} is not one of local, localstack, aws`);
  }
};
