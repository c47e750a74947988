import {
  type CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  type FilteredLogEvent,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';

/** Keys of a JSON log line worth a place on a terminal line, in this order. */
const SHOWN_KEYS = ['fileId', 'status', 'statusCode', 'code', 'reason', 'error'] as const;

/**
 * Lines a local run prints again and again that say nothing about SyncFlow: the AWS SDK's notice
 * that this machine's Node.js is older than it will need (the functions run on the host's
 * Node.js here, on Node.js 24 in AWS), and Node's hint on how to trace warnings.
 */
const NOISE = [
  /NodeVersionSupportWarning/,
  /^versions published after the first week/,
  /^will require node >=/,
  /^To continue receiving updates to AWS services/,
  /^and security updates please upgrade to node/,
  /^More information can be found at: https:\/\/a\.co\//,
  /^\(Use `node --trace-warnings/,
  /^No application metrics to publish/,
];

const show = (value: unknown): string =>
  typeof value === 'string'
    ? /[\s"=]/.test(value)
      ? JSON.stringify(value)
      : value
    : JSON.stringify(value);

/** A line of a function's log, shortened for a terminal; undefined for one not worth showing. */
export const formatLine = (group: string, message: string): string | undefined => {
  const text = message.trim();
  if (text === '' || /^(START|END|REPORT|INIT_START) RequestId|^INIT_START/.test(text))
    return undefined;
  if (NOISE.some((pattern) => pattern.test(text))) return undefined;
  const name = (group.split('/').pop() ?? group)
    .replace(/^SyncFlow-local-?/, '')
    .replace(/[A-F0-9]{8,}.*$/, '')
    .replace(/Logs$/, '');
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `[${name}] ${text}`;
  }
  if (typeof entry !== 'object' || entry === null) return `[${name}] ${text}`;
  const emf = entry._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined;
  if (emf) {
    // An embedded-metric-format line: show the figures, not the envelope.
    const names = emf.CloudWatchMetrics?.flatMap((m) => m.Metrics ?? []).map((m) => m.Name) ?? [];
    return `[${name}] metrics ${names.map((n) => `${n}=${JSON.stringify(entry[n])}`).join(' ')}`;
  }
  const { level, message: msg } = entry;
  if (typeof msg === 'string' && NOISE.some((pattern) => pattern.test(msg))) return undefined;
  const extra = SHOWN_KEYS.filter((key) => entry[key] !== undefined && entry[key] !== null).map(
    (key) => `${key}=${show(entry[key])}`,
  );
  return `[${name}] ${String(level ?? '')} ${String(msg ?? text)} ${extra.join(' ')}`.trimEnd();
};

/**
 * Follows every function's log group in the emulator and prints new lines until stopped:
 * CloudWatch Logs polled every two seconds, each group from where it was last read. A group's
 * new lines are printed in the order they were written (by time, then as the log holds them),
 * every page of them, none twice.
 */
export const tailFunctionLogs = (
  client: CloudWatchLogsClient,
  print: (line: string) => void,
  intervalMs = 2000,
): (() => void) => {
  /** Per group: read from this time on, skipping the events of that very millisecond seen. */
  const cursors = new Map<string, { from: number; seenAtFrom: Set<string> }>();
  const startedAt = Date.now();
  let stopped = false;
  const poll = async (): Promise<void> => {
    const groups = await client.send(new DescribeLogGroupsCommand({}));
    for (const group of groups.logGroups ?? []) {
      const name = group.logGroupName;
      if (!name) continue;
      const cursor = cursors.get(name) ?? { from: startedAt, seenAtFrom: new Set<string>() };
      const events: FilteredLogEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new FilterLogEventsCommand({ logGroupName: name, startTime: cursor.from, nextToken }),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      // Several streams (one per execution environment) interleave: put them back in time order.
      const ordered = events
        .map((event, index) => ({ event, index }))
        .sort(
          (a, b) =>
            (a.event.timestamp ?? 0) - (b.event.timestamp ?? 0) ||
            (a.event.ingestionTime ?? 0) - (b.event.ingestionTime ?? 0) ||
            a.index - b.index,
        );
      let from = cursor.from;
      let seenAtFrom = cursor.seenAtFrom;
      for (const { event } of ordered) {
        const time = event.timestamp ?? cursor.from;
        const id = event.eventId ?? `${time}:${event.logStreamName}:${event.message}`;
        if (time === cursor.from && cursor.seenAtFrom.has(id)) continue;
        if (time > from) {
          from = time;
          seenAtFrom = new Set();
        }
        seenAtFrom.add(id);
        const line = formatLine(name, event.message ?? '');
        if (line) print(line);
      }
      cursors.set(name, { from, seenAtFrom });
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
