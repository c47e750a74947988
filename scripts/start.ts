import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { findFfmpeg } from '../shared/processing/video/ffmpeg.ts';
import { type LocalStack, startLocalStack } from './lib/local-stack.ts';
import { tailFunctionLogs } from './lib/log-tail.ts';

/**
 * `npm start`: the whole stack on this machine, with no AWS account (scripts/lib/local-stack.ts),
 * staying up until Ctrl-C, which stops every process it started.
 */
const log = (message: string): void => console.log(`[syncflow] ${message}`);
let stack: LocalStack | undefined;
let stopping = false;

const shutdown = (code: number): void => {
  if (stopping) return;
  stopping = true;
  log('Stopping');
  void (stack?.stop() ?? Promise.resolve()).then(() => process.exit(code));
};
process.once('SIGINT', () => shutdown(0));
process.once('SIGTERM', () => shutdown(0));

try {
  stack = await startLocalStack({
    emulatorPort: Number(process.env.SYNCFLOW_EMULATOR_PORT ?? 4566),
    pgPort: Number(process.env.SYNCFLOW_PG_PORT ?? 5433),
    consolePort: Number(process.env.SYNCFLOW_CONSOLE_PORT ?? 5173),
    ...(process.env.DATABASE_URL && { databaseUrl: process.env.DATABASE_URL }),
    log,
  });
  const { restUrl, websocketUrl } = stack.info;
  log('SyncFlow is running locally.');
  log(`Console:   ${stack.info.consoleUrl}  (sign in as ${stack.info.demoUser.email}, filled in)`);
  log(`REST API:  ${restUrl}`);
  log(`WebSocket: ${websocketUrl}?token=$TOKEN  (file events as they happen)`);
  log(`Token:     export TOKEN=$(node -p "require('./.syncflow/local.json').token")`);
  log(
    `Try:       curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
  );
  log(
    `             -d '{"filename":"a.txt","contentType":"text/plain","size":5}' ${restUrl}uploads`,
  );
  log('Everything a client needs is in .syncflow/local.json. Ctrl-C stops it all.');
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
