import { randomBytes } from 'node:crypto';
import {
  type CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

export const REGION = 'us-east-1';
/** What happened to files, as the bus tells it (requests such as reprocess are left out). */
const OUTCOME_TYPES = ['file.processed', 'file.failed', 'file.rejected', 'file.deleted'];
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export const emulatorClients = (endpoint: string) => ({
  s3: new S3Client({ endpoint, region: REGION, credentials, forcePathStyle: true }),
  sqs: new SQSClient({ endpoint, region: REGION, credentials }),
  eventBridge: new EventBridgeClient({ endpoint, region: REGION, credentials }),
  dynamo: new DynamoDBClient({ endpoint, region: REGION, credentials }),
});

export type EmulatorClients = ReturnType<typeof emulatorClients>;

export interface PipelineResources {
  readonly bucket: string;
  readonly ingestQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly busName: string;
  /** A queue that receives every event on the custom bus, so a test can see what was published. */
  readonly captureQueueUrl: string;
  readonly idempotencyTable: string;
}

const queueArn = async (sqs: SQSClient, url: string): Promise<string> => {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = attributes.Attributes?.QueueArn;
  if (!arn) throw new Error(`No ARN for ${url}`);
  return arn;
};

/**
 * The pipeline's AWS resources, as the ingest and processing constructs make them, created
 * straight through the SDK so the processor can be tested without a deployment.
 */
export const createPipelineResources = async (
  clients: EmulatorClients,
  maxReceiveCount = 3,
): Promise<PipelineResources> => {
  const id = randomBytes(4).toString('hex');
  const bucket = `syncflow-test-${id}`;
  const busName = `syncflow-files-${id}`;
  const idempotencyTable = `syncflow-idempotency-${id}`;
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await clients.s3.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  await clients.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    }),
  );
  const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: `ingest-dlq-${id}` }));
  const deadLetterQueueUrl = dlq.QueueUrl ?? '';
  const ingest = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: `ingest-${id}`,
      Attributes: {
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: await queueArn(clients.sqs, deadLetterQueueUrl),
          maxReceiveCount,
        }),
      },
    }),
  );
  const ingestQueueUrl = ingest.QueueUrl ?? '';
  await clients.eventBridge.send(
    new PutRuleCommand({
      Name: `ingest-${id}`,
      EventPattern: JSON.stringify({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [bucket] }, object: { key: [{ prefix: 'uploads/' }] } },
      }),
    }),
  );
  await clients.eventBridge.send(
    new PutTargetsCommand({
      Rule: `ingest-${id}`,
      Targets: [{ Id: 'ingest', Arn: await queueArn(clients.sqs, ingestQueueUrl) }],
    }),
  );
  await clients.eventBridge.send(new CreateEventBusCommand({ Name: busName }));
  // As the ingest construct's second rule: reprocess requests from the bus to the queue.
  await clients.eventBridge.send(
    new PutRuleCommand({
      Name: `reprocess-${id}`,
      EventBusName: busName,
      EventPattern: JSON.stringify({
        source: ['syncflow.files'],
        'detail-type': ['file.reprocess-requested'],
      }),
    }),
  );
  await clients.eventBridge.send(
    new PutTargetsCommand({
      Rule: `reprocess-${id}`,
      EventBusName: busName,
      Targets: [{ Id: 'ingest', Arn: await queueArn(clients.sqs, ingestQueueUrl) }],
    }),
  );
  const capture = await clients.sqs.send(new CreateQueueCommand({ QueueName: `capture-${id}` }));
  const captureQueueUrl = capture.QueueUrl ?? '';
  await clients.eventBridge.send(
    new PutRuleCommand({
      Name: `capture-${id}`,
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: ['syncflow.files'], 'detail-type': OUTCOME_TYPES }),
    }),
  );
  await clients.eventBridge.send(
    new PutTargetsCommand({
      Rule: `capture-${id}`,
      EventBusName: busName,
      Targets: [{ Id: 'capture', Arn: await queueArn(clients.sqs, captureQueueUrl) }],
    }),
  );
  await clients.dynamo.send(
    new CreateTableCommand({
      TableName: idempotencyTable,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    }),
  );
  return { bucket, ingestQueueUrl, deadLetterQueueUrl, busName, captureQueueUrl, idempotencyTable };
};

/** Receives until `count` messages arrived or `timeoutMs` passed; returns what arrived. */
export const receive = async (
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  timeoutMs = 15_000,
): Promise<Message[]> => {
  const messages: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (messages.length < count && Date.now() < deadline) {
    const response = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, count - messages.length),
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    messages.push(...(response.Messages ?? []));
  }
  return messages;
};

export interface BusListener {
  readonly queueUrl: string;
  /** Removes the rule, its target and the queue (a test against AWS leaves nothing behind). */
  remove(): Promise<void>;
}

/**
 * A queue that receives every `file.*` outcome event on the bus, through a rule of its own, the
 * way a user's rule would: lets tests and benchmarks see what the stack published. The queue's
 * policy lets only that rule send to it, as AWS requires. `pattern` listens for other events
 * (the soak hears S3's `Object Created` on the default bus this way).
 */
export const listenToBus = async (
  clients: Pick<EmulatorClients, 'sqs' | 'eventBridge'>,
  busName: string,
  pattern: Record<string, unknown> = { source: ['syncflow.files'], 'detail-type': OUTCOME_TYPES },
): Promise<BusListener> => {
  const name = `bus-listener-${randomBytes(4).toString('hex')}`;
  const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const queueUrl = queue.QueueUrl ?? '';
  const arn = await queueArn(clients.sqs, queueUrl);
  const rule = await clients.eventBridge.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: busName,
      EventPattern: JSON.stringify(pattern),
    }),
  );
  await clients.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: arn,
              Condition: { ArnEquals: { 'aws:SourceArn': rule.RuleArn } },
            },
          ],
        }),
      },
    }),
  );
  await clients.eventBridge.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: busName,
      Targets: [{ Id: 'listener', Arn: arn }],
    }),
  );
  return {
    queueUrl,
    remove: async () => {
      await clients.eventBridge.send(
        new RemoveTargetsCommand({ Rule: name, EventBusName: busName, Ids: ['listener'] }),
      );
      await clients.eventBridge.send(new DeleteRuleCommand({ Name: name, EventBusName: busName }));
      await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
  };
};

/**
 * What a bus listener heard, by file: `eventsFor(fileId, expected, timeoutMs)` returns the
 * detail-types about that file seen within `timeoutMs`, stopping early once `expected` arrived
 * (0: wait the whole time). Every message read is deleted and kept, so events about other files
 * wait for their own tests.
 */
export const busEvents = (sqs: SQSClient, listener: BusListener) => {
  const arrived = new Map<string, string[]>();
  return async (fileId: string, expected: number, timeoutMs: number): Promise<string[]> => {
    const deadline = Date.now() + timeoutMs;
    const taken = () => arrived.get(fileId) ?? [];
    while (Date.now() < deadline && (expected === 0 || taken().length < expected)) {
      for (const message of await receive(sqs, listener.queueUrl, 10, 1_000)) {
        const event = JSON.parse(message.Body ?? '{}') as {
          'detail-type': string;
          detail: { fileId: string };
        };
        arrived.set(event.detail.fileId, [
          ...(arrived.get(event.detail.fileId) ?? []),
          event['detail-type'],
        ]);
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: listener.queueUrl,
            ReceiptHandle: message.ReceiptHandle,
          }),
        );
      }
    }
    const found = taken();
    arrived.delete(fileId);
    return found;
  };
};

/** One structured line a function logged (Powertools' JSON), with the fields the tests read. */
export interface FunctionLogLine {
  readonly message?: string;
  readonly fileId?: string;
  readonly reprocessId?: string;
  readonly gone?: number;
}

/**
 * The JSON lines logged since `since` (epoch ms) by the functions whose log group matches
 * `groups`. Each function logs to a group of its own (infra/constructs/base-function.ts), named
 * by CloudFormation after its construct: the kinds' processors' names hold `Processor`.
 */
export const functionLogLines = async (
  logs: CloudWatchLogsClient,
  groups: RegExp,
  since: number,
): Promise<FunctionLogLine[]> => {
  const lines: FunctionLogLine[] = [];
  const names = ((await logs.send(new DescribeLogGroupsCommand({}))).logGroups ?? [])
    .map((group) => group.logGroupName ?? '')
    .filter((name) => groups.test(name));
  for (const logGroupName of names) {
    let nextToken: string | undefined;
    do {
      const page = await logs
        .send(new FilterLogEventsCommand({ logGroupName, startTime: since, nextToken }))
        .catch(() => undefined);
      for (const event of page?.events ?? []) {
        try {
          lines.push(JSON.parse(event.message ?? ''));
        } catch {
          // Not one of Powertools' lines (the runtime's START/END/REPORT).
        }
      }
      nextToken = page?.nextToken;
    } while (nextToken);
  }
  return lines;
};
