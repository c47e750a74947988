import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import WebSocket from 'ws';
import { findFfmpeg } from '../shared/processing/video/ffmpeg.ts';
import { KEPT_DIR, type LocalStack, startLocalStack } from './lib/local-stack.ts';
import { tailFunctionLogs } from './lib/log-tail.ts';
import { PROJECT_ROOT } from './lib/ministack.ts';

/**
 * `npm start`: the whole stack on this machine, with no AWS account (scripts/lib/local-stack.ts),
 * staying up until Ctrl-C, which stops every process it started. What it made is kept for the
 * next start (`-- --reset` starts clean).
 */
// The AWS SDK's notice that this Node.js is older than its next releases need says nothing
// about SyncFlow (the functions run on Node.js 24 in AWS): not on every start's console.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: { reset: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
});
if (flags.help) {
  console.log(`npm start [-- --reset]

Starts SyncFlow on this machine: the MiniStack emulator, PostgreSQL (PGlite), the stack
deployed into the emulator, and the web console. Everything is kept under .syncflow/ for the
next start: the URLs, the users, the files and their records. A restart with unchanged code
deploys nothing.

  --reset   start clean: empty the emulator state, the bucket and the database

Ports: SYNCFLOW_EMULATOR_PORT (4566), SYNCFLOW_PG_PORT (5433), SYNCFLOW_CONSOLE_PORT (5173).
DATABASE_URL uses that PostgreSQL instead of PGlite (--reset does not empty it).
SYNCFLOW_STATE_DIR keeps the stack in another folder than .syncflow/.`);
  process.exit(0);
}

const log = (message: string): void => console.log(`[syncflow] ${message}`);
/** Where the kept stack's files are, as the console names them. */
const kept = (name: string): string => join(KEPT_DIR, name).replace(`${PROJECT_ROOT}/`, '');
const DEPLOY_LOG = join(KEPT_DIR, 'deploy.log');
let stack: LocalStack | undefined;
let stopping = false;

const shutdown = (code: number): void => {
  if (stopping) return;
  stopping = true;
  // A start refused before anything ran (or whose start cleaned up after itself) stops nothing.
  if (stack) log('Stopping (the emulator saves its state; this takes a few seconds)');
  void (stack?.stop() ?? Promise.resolve()).then(() => process.exit(code));
};
process.once('SIGINT', () => shutdown(0));
process.once('SIGTERM', () => shutdown(0));

/** Whether a WebSocket URL opens with this token: the address printed must work. */
const opens = (url: string, token: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      resolve(ok);
    };
    socket.once('open', () => done(true));
    socket.once('error', () => done(false));
    setTimeout(() => done(false), 10_000);
  });

const answers = async (url: string): Promise<boolean> => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    return false;
  }
};

try {
  mkdirSync(KEPT_DIR, { recursive: true });
  writeFileSync(DEPLOY_LOG, `npm start at ${new Date().toISOString()}\n`);
  stack = await startLocalStack({
    emulatorPort: Number(process.env.SYNCFLOW_EMULATOR_PORT ?? 4566),
    pgPort: Number(process.env.SYNCFLOW_PG_PORT ?? 5433),
    consolePort: Number(process.env.SYNCFLOW_CONSOLE_PORT ?? 5173),
    ...(process.env.DATABASE_URL && { databaseUrl: process.env.DATABASE_URL }),
    output: { logFile: DEPLOY_LOG },
    persist: true,
    reset: flags.reset,
    log,
  });
  const { restUrl, websocketUrl, consoleUrl, token } = stack.info;
  // Only addresses that answer on this machine are printed; one that does not is said so.
  const [restOk, socketOk, consoleOk] = await Promise.all([
    answers(`${restUrl}health`),
    opens(websocketUrl, token),
    consoleUrl ? answers(consoleUrl) : Promise.resolve(false),
  ]);
  log('SyncFlow is running locally.');
  if (consoleOk) {
    log(`Console:   ${consoleUrl}  (sign in as ${stack.info.demoUser.email}, filled in)`);
  } else log('Console:   does not answer; see the lines above');
  if (restOk) log(`REST API:  ${restUrl}`);
  else log(`REST API:  ${restUrl} does not answer its health check; see ${kept('ministack.log')}`);
  if (socketOk) log(`WebSocket: ${websocketUrl}?token=<token>  (file events as they happen)`);
  else log(`WebSocket: ${websocketUrl} refused a fresh token; see ${kept('ministack.log')}`);
  log('Command line: npx syncflow upload <files or folders> --wait   (npx syncflow --help)');
  log(
    `Everything a client needs is in ${kept('local.json')}; CDK and cdk-nag output in ${kept('deploy.log')}.`,
  );
  log(
    'Ctrl-C stops it all and keeps the data for the next start (npm start -- --reset empties it).',
  );
  try {
    findFfmpeg();
  } catch (error) {
    // The stack runs without it; only videos need it, and they end FAILED saying so.
    log(`Note: ${(error as Error).message}`);
  }
  log("Functions' logs follow.");
  tailFunctionLogs(
    new CloudWatchLogsClient({
      endpoint: stack.info.endpoint,
      region: stack.info.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    (line) => console.log(line),
  );
} catch (error) {
  console.error(`[syncflow] ${error instanceof Error ? error.message : String(error)}`);
  shutdown(1);
}
