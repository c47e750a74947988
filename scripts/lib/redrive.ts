import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly deadLetterQueueUrl: string;
  readonly sourceQueueUrl: string;
  readonly dryRun: boolean;
  /**
   * Where the message loop records each message's progress, so that a run interrupted between
   * sending a message and deleting it from the DLQ does not send it again when run again.
   */
  readonly journalFile: string;
  /** 'auto': SQS message move tasks where the endpoint has them, else the loop. */
  readonly method?: 'auto' | 'move-task' | 'loop';
  readonly log?: (line: string) => void;
}

export interface RedriveResult {
  readonly method: 'move-task' | 'loop' | 'dry-run';
  /** Ids (DLQ message ids) moved by this run, or that a dry run would move. */
  readonly moved: readonly string[];
  /** Messages an interrupted run had sent already: only deleted from the DLQ now. */
  readonly finished: readonly string[];
}

type JournalState = 'sending' | 'sent' | 'deleted';

/** An append-only log of `{id, state}` lines, each written through to disk before going on. */
class Journal {
  private readonly states = new Map<string, JournalState>();
  private readonly fd: number;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as { id: string; state: JournalState };
        this.states.set(entry.id, entry.state);
      }
    }
    this.fd = openSync(file, 'a');
  }

  state(id: string): JournalState | undefined {
    return this.states.get(id);
  }

  /** Whether an earlier run stopped with a message sent but not yet deleted from the DLQ. */
  unfinished(): boolean {
    return [...this.states.values()].some((state) => state !== 'deleted');
  }

  record(id: string, state: JournalState): void {
    writeSync(this.fd, `${JSON.stringify({ id, state, at: new Date().toISOString() })}\n`);
    fsyncSync(this.fd);
    this.states.set(id, state);
  }

  close(): void {
    closeSync(this.fd);
  }
}

const queueArn = async (sqs: SQSClient, url: string): Promise<string> => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`No ARN for ${url}`);
  return Attributes.QueueArn;
};

export const waitingIn = async (sqs: SQSClient, url: string): Promise<number> => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
};

/** The attributes SendMessage takes back: string, number and binary ones (at most 10). */
const attributesOf = (message: Message): Record<string, MessageAttributeValue> | undefined => {
  const entries = Object.entries(message.MessageAttributes ?? {})
    .filter(([, value]) => value.DataType && (value.StringValue || value.BinaryValue))
    .slice(0, 10)
    .map(([name, value]) => [
      name,
      {
        DataType: value.DataType,
        ...(value.StringValue !== undefined && { StringValue: value.StringValue }),
        ...(value.BinaryValue !== undefined && { BinaryValue: value.BinaryValue }),
      },
    ]);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
};

const isUnsupported = (error: unknown): boolean => {
  const { name, message } = error as Error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    /Unsupported|InvalidAction|UnknownOperation|NotImplemented/i.test(name) ||
    ((status === 400 || status === 404 || status === 501) &&
      /not (implemented|supported)|unknown|invalid action/i.test(message ?? ''))
  );
};

/** SQS's own message move task, polled until it ends. */
const moveTask = async (options: RedriveOptions, log: (line: string) => void) => {
  const { sqs } = options;
  const source = await queueArn(sqs, options.deadLetterQueueUrl);
  const destination = await queueArn(sqs, options.sourceQueueUrl);
  const started = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: source, DestinationArn: destination }),
  );
  log(`move task ${started.TaskHandle} started: ${source} -> ${destination}`);
  for (;;) {
    const { Results } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: source, MaxResults: 1 }),
    );
    const task = Results?.[0];
    if (task && task.Status !== 'RUNNING') {
      if (task.Status !== 'COMPLETED') {
        throw new Error(`The move task ended ${task.Status}: ${task.FailureReason ?? ''}`);
      }
      log(`move task completed: ${task.ApproximateNumberOfMessagesMoved ?? 0} messages moved`);
      return task.ApproximateNumberOfMessagesMoved ?? 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
};

/**
 * Moves every message of a DLQ back to the queue it came from, printing what it moves. Where
 * the endpoint supports it (AWS), SQS moves them itself; elsewhere (the emulator) a loop sends
 * each message to the source queue and only then deletes it from the DLQ, writing each step to
 * a journal first: a run stopped at any point and run again finishes the job without losing a
 * message or sending one twice. A dry run counts and lists, and moves nothing.
 */
export const redrive = async (options: RedriveOptions): Promise<RedriveResult> => {
  const { sqs } = options;
  const log = options.log ?? (() => {});
  if (options.dryRun) {
    const waiting = await waitingIn(sqs, options.deadLetterQueueUrl);
    // A peek that leaves every message visible (visibility 0): ids only, nothing is changed.
    const peek = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        WaitTimeSeconds: 1,
      }),
    );
    const ids = [...new Set((peek.Messages ?? []).map((m) => m.MessageId ?? ''))];
    for (const id of ids) log(`would move ${id}`);
    log(`dry run: ${waiting} messages in the DLQ would be moved; nothing was moved`);
    return { method: 'dry-run', moved: ids, finished: [] };
  }
  // A loop that stopped halfway must be finished by the loop: a move task would send its
  // already-sent messages again.
  const journal = new Journal(options.journalFile);
  if (options.method !== 'loop' && journal.unfinished()) {
    log('an earlier run stopped halfway; finishing it message by message');
  } else if (options.method !== 'loop') {
    try {
      await moveTask(options, log);
      journal.close();
      return { method: 'move-task', moved: [], finished: [] };
    } catch (error) {
      if (options.method === 'move-task' || !isUnsupported(error)) {
        journal.close();
        throw error;
      }
      log('this endpoint has no message move tasks; moving message by message');
    }
  }
  const moved: string[] = [];
  const finished: string[] = [];
  // Messages received and not yet deleted: on an error they are made visible again at once,
  // so a new run need not wait for their visibility timeout.
  const inHand = new Map<string, string>();
  /** Deletes a message from the DLQ once it is in the source queue, and journals that. */
  const settle = async (id: string, receiptHandle: string | undefined): Promise<void> => {
    await sqs.send(
      new DeleteMessageCommand({
        QueueUrl: options.deadLetterQueueUrl,
        ReceiptHandle: receiptHandle,
      }),
    );
    journal.record(id, 'deleted');
    inHand.delete(id);
  };
  try {
    let emptyPolls = 0;
    while (emptyPolls < 2) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 60,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      if (!Messages?.length) {
        emptyPolls++;
        continue;
      }
      emptyPolls = 0;
      for (const message of Messages)
        inHand.set(message.MessageId ?? '', message.ReceiptHandle ?? '');
      for (const message of Messages) {
        const id = message.MessageId ?? '';
        const state = journal.state(id);
        if (state === 'sent' || state === 'deleted') {
          // Sent by a run that stopped before deleting it: delete, do not send again.
          await settle(id, message.ReceiptHandle);
          finished.push(id);
          log(`finished ${id} (sent by an earlier run)`);
          continue;
        }
        journal.record(id, 'sending');
        const attributes = attributesOf(message);
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: options.sourceQueueUrl,
            MessageBody: message.Body ?? '',
            ...(attributes && { MessageAttributes: attributes }),
          }),
        );
        journal.record(id, 'sent');
        await settle(id, message.ReceiptHandle);
        moved.push(id);
        log(`moved ${id}`);
      }
    }
  } catch (error) {
    for (const receiptHandle of inHand.values()) {
      await sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: options.deadLetterQueueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => {});
    }
    log(`stopped after moving ${moved.length}: ${(error as Error).message}; run again to finish`);
    throw error;
  } finally {
    journal.close();
  }
  log(`${moved.length} messages moved, ${finished.length} finished from an earlier run`);
  return { method: 'loop', moved, finished };
};
