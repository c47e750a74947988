import {
  type CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';

/** A line of a function's log, shortened for a terminal. */
const formatLine = (group: string, message: string): string | undefined => {
  const text = message.trim();
  if (text === '' || /^(START|END|REPORT) RequestId/.test(text)) return undefined;
  const name = (group.split('/').pop() ?? group)
    .replace(/^SyncFlow-local-?/, '')
    .replace(/[A-F0-9]{8,}.*$/, '');
  try {
    const entry = JSON.parse(text) as Record<string, unknown>;
    const emf = entry._aws as
      | { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] }
      | undefined;
    if (emf) {
      // An embedded-metric-format line: show the figures, not the envelope.
      const names = emf.CloudWatchMetrics?.flatMap((m) => m.Metrics ?? []).map((m) => m.Name) ?? [];
      return `[${name}] metrics ${names.map((n) => `${n}=${JSON.stringify(entry[n])}`).join(' ')}`;
    }
    const { level, message: msg, fileId, error } = entry;
    const extra = [
      fileId && `fileId=${String(fileId)}`,
      error && `error=${JSON.stringify(error)}`,
    ].filter(Boolean);
    return `[${name}] ${String(level ?? '')} ${String(msg ?? text)} ${extra.join(' ')}`.trimEnd();
  } catch {
    return `[${name}] ${text}`;
  }
};

/**
 * Follows every function's log group in the emulator and prints new lines until stopped:
 * CloudWatch Logs polled every two seconds, each group from where it was last read.
 */
export const tailFunctionLogs = (
  client: CloudWatchLogsClient,
  print: (line: string) => void,
  intervalMs = 2000,
): (() => void) => {
  const since = new Map<string, number>();
  const startedAt = Date.now();
  let stopped = false;
  const poll = async (): Promise<void> => {
    const groups = await client.send(new DescribeLogGroupsCommand({}));
    for (const group of groups.logGroups ?? []) {
      const name = group.logGroupName;
      if (!name) continue;
      const from = since.get(name) ?? startedAt;
      const events = await client.send(
        new FilterLogEventsCommand({ logGroupName: name, startTime: from }),
      );
      let last = from;
      for (const event of events.events ?? []) {
        const line = formatLine(name, event.message ?? '');
        if (line) print(line);
        last = Math.max(last, (event.timestamp ?? from) + 1);
      }
      since.set(name, last);
    }
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      await poll().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
};
