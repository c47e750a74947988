import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { formatLine, tailFunctionLogs } from '../../../scripts/lib/log-tail.ts';

const GROUP = '/aws/lambda/SyncFlow-local-ApiUploadApi1234ABCD-xyz';

describe('the local log tail', () => {
  it('shows why a request was refused and how a file ended', () => {
    expect(
      formatLine(
        GROUP,
        JSON.stringify({
          level: 'INFO',
          message: 'Request refused',
          statusCode: 400,
          code: 'BAD_REQUEST',
          reason: 'size: must be positive',
        }),
      ),
    ).toBe(
      '[ApiUploadApi] INFO Request refused statusCode=400 code=BAD_REQUEST reason="size: must be positive"',
    );
    expect(
      formatLine(
        GROUP,
        JSON.stringify({
          level: 'INFO',
          message: 'File finished',
          fileId: 'f1',
          status: 'FAILED',
          reason: 'truncated',
        }),
      ),
    ).toBe('[ApiUploadApi] INFO File finished fileId=f1 status=FAILED reason=truncated');
  });

  it("leaves out the runtime's repeated notices and empty-metrics warnings", () => {
    for (const noise of [
      '(node:12) Warning: NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)',
      'will require node >=22. You are running node v20.20.2.',
      JSON.stringify({
        level: 'WARN',
        message:
          'No application metrics to publish. The cold-start metric may be published if enabled.',
      }),
      'REPORT RequestId: 1 Duration: 2 ms',
    ]) {
      expect(formatLine(GROUP, noise)).toBeUndefined();
    }
  });

  it("prints a group's lines in the order they were written, each once, across polls", async () => {
    let poll = 0;
    const t = Date.now() + 60_000;
    const pages = [
      [
        { eventId: 'b', timestamp: t + 2000, message: 'second' },
        { eventId: 'a', timestamp: t + 1000, message: 'first' },
        { eventId: 'c', timestamp: t + 2000, message: 'third' },
      ],
      [
        { eventId: 'c', timestamp: t + 2000, message: 'third' },
        { eventId: 'd', timestamp: t + 2000, message: 'fourth' },
        { eventId: 'e', timestamp: t + 3000, message: 'fifth' },
      ],
    ];
    const client = {
      send: async (command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'DescribeLogGroupsCommand')
          return { logGroups: [{ logGroupName: GROUP }] };
        return { events: pages[poll++] ?? [] };
      },
    } as unknown as CloudWatchLogsClient;
    const printed: string[] = [];
    const stop = tailFunctionLogs(client, (line) => printed.push(line), 5);
    while (poll < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    stop();
    expect(printed.map((line) => line.split(' ').pop())).toEqual([
      'first',
      'second',
      'third',
      'fourth',
      'fifth',
    ]);
  });
});
