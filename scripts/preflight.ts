import { parseArgs } from 'node:util';
import { AURORA_POSTGRES_VERSION } from '../infra/constructs/metadata.ts';
import { stageConfig } from '../infra/stages.ts';
import { defaultClients, formatResults, runPreflight } from './lib/preflight.ts';

/**
 * `npm run preflight -- --stage prod [--region eu-west-1] [--notification-sender a@b.c]
 * [--notification-sender-identity existing]`: read-only checks, with the credentials and region
 * `cdk deploy` would use, of what a first deploy meets in an account (scripts/lib/preflight.ts).
 * Exits 1 when a check fails, 2 on a usage error.
 */
const { values } = parseArgs({
  options: {
    stage: { type: 'string' },
    region: { type: 'string' },
    'notification-sender': { type: 'string' },
    'notification-sender-identity': { type: 'string' },
  },
});
if (!values.stage) {
  console.error('Usage: npm run preflight -- --stage <dev|prod> [--region <region>]');
  process.exit(2);
}
let stage: ReturnType<typeof stageConfig>;
try {
  stage = stageConfig(values.stage, {
    ...(values['notification-sender'] !== undefined && {
      notificationSender: values['notification-sender'],
    }),
    ...(values['notification-sender-identity'] !== undefined && {
      notificationSenderIdentity: values['notification-sender-identity'],
    }),
  });
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const clients = defaultClients(values.region);
const region = await clients.rds.config.region();
console.log(`Preflight for SyncFlow-${stage.name} in ${region}`);
const results = await runPreflight(
  clients,
  stage,
  AURORA_POSTGRES_VERSION.auroraPostgresFullVersion,
);
console.log(formatResults(results));
process.exit(results.some((r) => r.status === 'fail') ? 1 : 0);
