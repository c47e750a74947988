import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/ports.ts';
import { fromEmulator } from '../test/support/targets.ts';
import { type LocalStack, startLocalStack } from './lib/local-stack.ts';
import { STATE_DIR } from './lib/ministack.ts';
import { type RunningPglite, startPgliteServer } from './lib/pglite-server.ts';
import { type DatabaseProxy, startDatabaseProxy } from './lib/soak/db-proxy.ts';
import { runSoak } from './lib/soak/run-soak.ts';

/**
 * `npm run soak -- [--files 2000] [--users 4] [--concurrency 8]`: thousands of uploads through
 * a local stack of its own while parts of it fail on a schedule, then checks that nothing was
 * lost or done twice (docs/operations.md, "Soak"). Prints one JSON line of figures on stdout;
 * exits 1 when a check fails.
 */
const HELP = `npm run soak -- [--files <n>] [--users <n>] [--concurrency <n>] [--outage <s>] [--seed <n>]

Starts a local stack of its own (MiniStack and PostgreSQL on free loopback ports, the functions
reaching the database through a proxy the soak controls), uploads <n> mixed files from several
users while faults are injected, waits for every file to end, redrives the DLQs and checks:
every file in one end state (with a reason where not PROCESSED), no file processed twice for one
version, one file.* event per outcome, every connected owner told, the DLQ explained, and the
bucket and the records agreeing. Progress on stderr, one JSON line of figures on stdout.

  --files <n>        uploads (default 2000)
  --users <n>        users uploading at once (default 4)
  --concurrency <n>  uploads in flight over all users (default 8)
  --outage <s>       seconds each of the two database outages lasts (default 10)
  --seed <n>         the workload's seed (default 17)
  -h, --help         this text

Exit codes: 0 every check passed, 1 a check failed, 2 usage, 3 the stack did not start.`;

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      files: { type: 'string', default: '2000' },
      users: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '8' },
      outage: { type: 'string', default: '10' },
      seed: { type: 'string', default: '17' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (error) {
  console.error(`soak: ${(error as Error).message}\n(npm run soak -- --help explains the options)`);
  process.exit(2);
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const number = (name: string, min: number): number => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) {
    console.error(`soak: --${name} must be a whole number of at least ${min}`);
    process.exit(2);
  }
  return value;
};
const options = {
  files: number('files', 1),
  users: number('users', 1),
  concurrency: number('concurrency', 1),
  outageSeconds: number('outage', 1),
  seed: number('seed', 0),
};
const log = (line: string) => console.error(`[soak] ${line}`);

const dataDir = mkdtempSync(join(tmpdir(), 'syncflow-soak-pg-'));
let pglite: RunningPglite | undefined;
let proxy: DatabaseProxy | undefined;
let stack: LocalStack | undefined;
let code = 0;
const stop = async () => {
  await stack?.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await pglite?.stop().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  log('interrupted: stopping the stack');
  void stop().then(() => process.exit(130));
});
try {
  pglite = await startPgliteServer({ port: await freePort(), dataDir });
  proxy = await startDatabaseProxy(pglite.url);
  log(`PostgreSQL (PGlite) on ${pglite.url}, the functions' way to it through ${proxy.url}`);
  // This run's deploy only: its progress is read back from the log.
  const deployLog = join(STATE_DIR, 'soak-deploy.log');
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(deployLog, '');
  try {
    stack = await startLocalStack({
      emulatorPort: await freePort(),
      pgPort: await freePort(),
      consolePort: await freePort(),
      databaseUrl: proxy.url,
      // CDK's progress and the tools' warnings, as npm start keeps them.
      output: { logFile: deployLog },
      log,
    });
  } catch (error) {
    log(`the stack did not start: ${(error as Error).message}`);
    code = 3;
  }
  if (stack) {
    const database = { directUrl: pglite.url, controlUrl: proxy.controlUrl };
    const report = await runSoak(fromEmulator('local', stack.info), database, { ...options, log });
    for (const check of report.checks) {
      log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
    }
    console.log(JSON.stringify(report.figures));
    if (report.checks.some((check) => !check.ok) || report.figures.lost !== 0) code = 1;
  }
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`);
  code = 1;
} finally {
  await stop();
}
process.exit(code);
