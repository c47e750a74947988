import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import { findRunningLocalStack } from './lib/local-stack.ts';
import { STATE_DIR } from './lib/ministack.ts';
import { redrive } from './lib/redrive.ts';

/**
 * `npm run redrive -- --stage <stage> [--queue ingest|tabular|logs|other|video|notifier] [--dry-run]`:
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
  video: { dlq: 'VideoDeadLetterQueueUrl', source: 'VideoQueueUrl' },
  notifier: { dlq: 'NotificationsDeadLetterQueueUrl', source: 'NotificationsQueueUrl' },
} as const;

const HELP = `npm run redrive -- --stage <stage> [--queue ingest|tabular|logs|other|video|notifier] [--dry-run]

Puts the messages parked in a dead-letter queue back on the queue they came from, once the
cause of their failures is gone (docs/operations.md, IngestDeadLetters and
NotificationsDeadLetters). In AWS, SQS moves them itself (a message move task); on the local
stack, one by one, each step written to .syncflow/redrive/ first, so a run stopped halfway and
run again neither loses a message nor sends one twice.

  --stage <stage>   the stack: local (the one \`npm start\` runs), dev, prod, ... (required)
  --queue <queue>   a processing kind's DLQ: ingest (images), tabular, logs, other or
                    video; or notifier (the WebSocket pushes' DLQ); default: ingest
  --dry-run         count the messages and list up to ten of their ids; move nothing
  -h, --help        this text

AWS stages are found as the CloudFormation stack SyncFlow-<stage>, with the credentials and
region of the usual AWS settings (AWS_PROFILE, AWS_ACCESS_KEY_ID..., AWS_REGION).`;

const fail = (message: string, code: number): never => {
  console.error(`redrive: ${message}`);
  if (code === 2) console.error('(npm run redrive -- --help explains the options)');
  process.exit(code);
};

let values: { stage?: string; queue?: string; 'dry-run'?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      stage: { type: 'string' },
      queue: { type: 'string', default: 'ingest' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message, 2);
  throw error;
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const stage = values.stage;
const queue = (values.queue ?? 'ingest') as keyof typeof QUEUES;
if (!stage) fail('--stage is missing: which stack? (local, dev, prod, ...)', 2);
if (!(queue in QUEUES))
  fail(`--queue ${queue}: must be one of ${Object.keys(QUEUES).join(', ')}`, 2);

/** An AWS SDK failure that means the caller has no usable credentials or region, in words. */
const explain = (error: Error): string => {
  if (
    error.name === 'CredentialsProviderError' ||
    /Could not load credentials/.test(error.message)
  ) {
    return 'no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign in with `aws sso login`';
  }
  if (/Region is missing/.test(error.message)) {
    return 'no AWS region: set AWS_REGION (or a region in your AWS profile)';
  }
  if (error.name === 'ValidationError' && /does not exist/.test(error.message)) {
    return `no stack SyncFlow-${stage} in this account and region: is --stage right, and AWS_REGION?`;
  }
  if (error.name === 'ExpiredToken' || error.name === 'ExpiredTokenException') {
    return 'the AWS credentials expired: sign in again';
  }
  return error.message;
};

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
    dryRun: values['dry-run'] ?? false,
    journalFile: join(STATE_DIR, 'redrive', `${stage}-${queue}.jsonl`),
    log: (line) => console.log(line),
  });
} catch (error) {
  console.error(`redrive: ${explain(error as Error)}`);
  process.exit(1);
}
