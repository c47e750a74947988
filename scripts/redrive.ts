import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import { findRunningLocalStack } from './lib/local-stack.ts';
import { STATE_DIR } from './lib/ministack.ts';
import { redrive } from './lib/redrive.ts';

/**
 * `npm run redrive -- --stage <stage> [--queue ingest|tabular|logs|other|notifier] [--dry-run]`:
 * puts the messages
 * of a DLQ back on the queue they came from (docs/operations.md). The stack is found by its
 * outputs: the local stack `npm start` runs for `local`, CloudFormation's `SyncFlow-<stage>`
 * otherwise (credentials and region from the usual AWS settings).
 */
const QUEUES = {
  // `ingest` is the image kind's queue (it keeps the single ingest queue's outputs).
  ingest: { dlq: 'DeadLetterQueueUrl', source: 'IngestQueueUrl' },
  tabular: { dlq: 'TabularDeadLetterQueueUrl', source: 'TabularQueueUrl' },
  logs: { dlq: 'LogsDeadLetterQueueUrl', source: 'LogsQueueUrl' },
  other: { dlq: 'OtherDeadLetterQueueUrl', source: 'OtherQueueUrl' },
  notifier: { dlq: 'NotificationsDeadLetterQueueUrl', source: 'NotificationsQueueUrl' },
} as const;

const usage =
  'usage: npm run redrive -- --stage <stage> [--queue ingest|tabular|logs|other|notifier] [--dry-run]';

const { values } = parseArgs({
  options: {
    stage: { type: 'string' },
    queue: { type: 'string', default: 'ingest' },
    'dry-run': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const stage = values.stage;
const queue = values.queue as keyof typeof QUEUES;
if (!stage || !(queue in QUEUES)) {
  console.error(usage);
  process.exit(2);
}

const locate = async (): Promise<{ sqs: SQSClient; outputs: Record<string, string> }> => {
  if (stage === 'local') {
    const local = await findRunningLocalStack();
    if (!local) throw new Error('No local stack is running: start it with `npm start`');
    const sqs = new SQSClient({
      endpoint: local.endpoint,
      region: local.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    return { sqs, outputs: { ...local.outputs } };
  }
  const stackName = `SyncFlow-${stage}`;
  const described = await new CloudFormationClient({}).send(
    new DescribeStacksCommand({ StackName: stackName }),
  );
  const outputs = Object.fromEntries(
    (described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  return { sqs: new SQSClient({}), outputs };
};

try {
  const { sqs, outputs } = await locate();
  const names = QUEUES[queue];
  const deadLetterQueueUrl = outputs[names.dlq];
  const sourceQueueUrl = outputs[names.source];
  if (!deadLetterQueueUrl || !sourceQueueUrl) {
    throw new Error(`The stack has no ${names.dlq} / ${names.source} outputs; deploy it again`);
  }
  console.log(`${values['dry-run'] ? 'Dry run: ' : ''}${deadLetterQueueUrl} -> ${sourceQueueUrl}`);
  await redrive({
    sqs,
    deadLetterQueueUrl,
    sourceQueueUrl,
    dryRun: values['dry-run'],
    journalFile: join(STATE_DIR, 'redrive', `${stage}-${queue}.jsonl`),
    log: (line) => console.log(line),
  });
} catch (error) {
  console.error(`redrive: ${(error as Error).message}`);
  process.exit(1);
}
