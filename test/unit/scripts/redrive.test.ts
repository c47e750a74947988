import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { redrive } from '../../../scripts/lib/redrive.ts';

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const DLQ = 'https://sqs/dlq';
const SOURCE = 'https://sqs/source';

/** A DLQ holding these messages until each is deleted. */
const parked = (ids: string[]) => {
  const waiting = new Set(ids);
  sqsMock.on(ReceiveMessageCommand).callsFake(() => ({
    Messages: [...waiting].map((id) => ({
      MessageId: id,
      ReceiptHandle: `rh-${id}`,
      Body: `body-${id}`,
    })),
  }));
  sqsMock.on(DeleteMessageCommand).callsFake((input: { ReceiptHandle: string }) => {
    waiting.delete(input.ReceiptHandle.replace('rh-', ''));
    return {};
  });
  return waiting;
};

const journalFile = () => join(mkdtempSync(join(tmpdir(), 'redrive-')), 'journal.jsonl');
const sentBodies = () =>
  sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageBody);

describe('redrive', () => {
  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({});
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    sqsMock
      .on(GetQueueAttributesCommand)
      .resolves({ Attributes: { QueueArn: 'arn', ApproximateNumberOfMessages: '2' } });
  });

  it('sends each message to its source queue before deleting it, and journals both', async () => {
    const waiting = parked(['a', 'b']);
    const file = journalFile();
    const result = await redrive({
      sqs,
      deadLetterQueueUrl: DLQ,
      sourceQueueUrl: SOURCE,
      dryRun: false,
      method: 'loop',
      journalFile: file,
    });
    expect(result.moved).toEqual(['a', 'b']);
    expect(sentBodies()).toEqual(['body-a', 'body-b']);
    expect(waiting.size).toBe(0);
    const states = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(states.map((s) => `${s.id}:${s.state}`)).toEqual([
      'a:sending',
      'a:sent',
      'a:deleted',
      'b:sending',
      'b:sent',
      'b:deleted',
    ]);
  });

  it('finishes an interrupted run without sending anything twice, even when move tasks exist', async () => {
    const waiting = parked(['a', 'b']);
    const file = journalFile();
    sqsMock.on(DeleteMessageCommand).rejectsOnce(new Error('connection lost'));
    await expect(
      redrive({
        sqs,
        deadLetterQueueUrl: DLQ,
        sourceQueueUrl: SOURCE,
        dryRun: false,
        method: 'loop',
        journalFile: file,
      }),
    ).rejects.toThrow('connection lost');
    expect(sentBodies()).toEqual(['body-a']);
    // The message in hand was made visible again at once.
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand).length).toBeGreaterThan(0);

    parked([...waiting]);
    sqsMock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 't' });
    const rerun = await redrive({
      sqs,
      deadLetterQueueUrl: DLQ,
      sourceQueueUrl: SOURCE,
      dryRun: false,
      method: 'auto',
      journalFile: file,
    });
    expect(sqsMock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    expect(rerun.finished).toEqual(['a']);
    expect(rerun.moved).toEqual(['b']);
    expect(sentBodies()).toEqual(['body-a', 'body-b']);
  });

  it('falls back to the loop where the endpoint has no move tasks, and moves nothing on a dry run', async () => {
    parked(['a']);
    const dry = await redrive({
      sqs,
      deadLetterQueueUrl: DLQ,
      sourceQueueUrl: SOURCE,
      dryRun: true,
      journalFile: journalFile(),
    });
    expect(dry).toMatchObject({ method: 'dry-run', moved: ['a'] });
    expect(sentBodies()).toEqual([]);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);

    sqsMock.on(StartMessageMoveTaskCommand).rejects(
      Object.assign(new Error('The action StartMessageMoveTask is not implemented'), {
        name: 'InvalidAction',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const result = await redrive({
      sqs,
      deadLetterQueueUrl: DLQ,
      sourceQueueUrl: SOURCE,
      dryRun: false,
      journalFile: journalFile(),
    });
    expect(result).toMatchObject({ method: 'loop', moved: ['a'] });
  });
});
