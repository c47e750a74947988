import type { FileEventMessage } from '../../client/src/index.ts';
import type { Command } from '../lib/command.ts';
import { nodeSocket } from '../lib/end-states.ts';
import { CliError, EXIT } from '../lib/errors.ts';

export interface WatchFlags {
  readonly file?: string[];
}

export const watch: Command<WatchFlags> = {
  name: 'watch',
  summary: "Print your files' end states as they happen (until Ctrl-C)",
  description:
    'Subscribes to the WebSocket and prints one line per event (PROCESSED, FAILED, REJECTED, ' +
    'with the reason), or one JSON object per event with --json. After a lost connection it ' +
    'reconnects by itself with a fresh token; events sent while it was away are not replayed ' +
    '(`syncflow ls` shows where every file stands).',
  examples: [
    'syncflow watch',
    'syncflow watch --json | jq -r .result.fileId',
    'syncflow watch --file 0b6c…',
  ],
  flags: [
    {
      flags: '--file <fileId...>',
      description: 'only these files',
    },
  ],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const { out } = ctx;
    const only = flags.file ? new Set(flags.file) : undefined;
    // Pushes are not ordered: a run's start no newer than the file's last end (event times
    // have whole seconds) is a late push of that run, and is not printed.
    const endedAt = new Map<string, number>();
    const print = (event: FileEventMessage) => {
      if (only && !only.has(event.fileId)) return;
      const at = Date.parse(event.at ?? '') || Date.now();
      if (event.type === 'file.processing') {
        if (at <= (endedAt.get(event.fileId) ?? Number.NEGATIVE_INFINITY)) return;
      } else if (event.type !== 'file.progress') {
        endedAt.set(event.fileId, Math.max(endedAt.get(event.fileId) ?? 0, at));
      }
      if (out.json) {
        out.result(event);
        return;
      }
      const style =
        event.status === 'PROCESSED' ? 'green' : event.status === 'PROCESSING' ? 'dim' : 'red';
      out.data(
        [
          event.at ?? new Date().toISOString(),
          out.paint(event.status.padEnd(9), style),
          event.fileId,
          event.reason ?? '',
        ]
          .join('  ')
          .trimEnd(),
      );
    };
    await new Promise<void>((resolve, reject) => {
      const subscription = client.subscribe({
        socket: nodeSocket,
        onEvent: print,
        // Another try with the same sign-in would be refused alike: the user must sign in.
        onRefused: (error) =>
          reject(new CliError(`${error.message} (syncflow login)`, EXIT.auth, 'UNAUTHORIZED')),
        onState: (state) => {
          if (state === 'open')
            out.note('Watching: events are printed as they happen; Ctrl-C stops');
          if (state === 'reconnecting') out.note('Connection lost; reconnecting');
        },
      });
      const stop = () => {
        subscription.close();
        resolve();
      };
      if (ctx.signal.aborted) stop();
      ctx.signal.addEventListener('abort', stop, { once: true });
    });
    return { exitCode: EXIT.interrupted };
  },
};
