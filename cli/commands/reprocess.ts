import type { FileStatus } from '../../client/src/index.ts';
import { type Command, positiveInt } from '../lib/command.ts';
import { EndStateFollower } from '../lib/end-states.ts';
import { describeError, EXIT, isAuthError, usageError } from '../lib/errors.ts';

export interface ReprocessFlags {
  readonly wait: boolean;
  readonly waitTimeout: number;
}

interface Outcome {
  readonly fileId: string;
  readonly reprocessId?: string;
  readonly status?: FileStatus;
  readonly reason?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export const reprocess: Command<ReprocessFlags> = {
  name: 'reprocess',
  args: '<fileIds...>',
  summary: 'Put files through the processor again',
  description:
    'Queues the version of each file that was checked (after a fix to the pipeline, or to retry ' +
    'a FAILED file). A REJECTED file will be rejected again: its bytes do not change. A file ' +
    'queued or being processed already answers CONFLICT. With --wait, follows each to its end ' +
    'state and exits 1 unless all end PROCESSED.',
  examples: [
    'syncflow reprocess 0b6c… --wait',
    "syncflow ls --status FAILED --json | jq -r '.result.items[].fileId' | xargs syncflow reprocess",
  ],
  flags: [
    { flags: '-w, --wait', description: 'follow each file to its end state', default: false },
    {
      flags: '--wait-timeout <seconds>',
      description: 'give up waiting after this long',
      default: 600,
      parse: positiveInt('--wait-timeout', 86_400),
    },
  ],
  async run(ctx, fileIds, flags) {
    if (fileIds.length === 0) throw usageError('Which files? Give their ids');
    const client = await ctx.client();
    const follower = flags.wait ? new EndStateFollower(client) : undefined;
    if (follower) await follower.start();
    const outcomes: Outcome[] = [];
    const waits: Promise<void>[] = [];
    for (const fileId of fileIds) {
      if (ctx.signal.aborted) break;
      try {
        const queued = await client.api.reprocessFile(fileId);
        const index =
          outcomes.push({ fileId, reprocessId: queued.reprocessId, status: queued.status }) - 1;
        if (follower) {
          waits.push(
            follower
              .wait(fileId, {
                signal: AbortSignal.any([
                  ctx.signal,
                  AbortSignal.timeout(flags.waitTimeout * 1000),
                ]),
                readNow: false,
              })
              .then(
                (end) => {
                  outcomes[index] = {
                    ...outcomes[index],
                    fileId,
                    status: end.status,
                    ...(end.reason && { reason: end.reason }),
                  };
                },
                () => {
                  outcomes[index] = {
                    ...outcomes[index],
                    fileId,
                    error: {
                      code: 'TIMEOUT',
                      message: `no end state within ${flags.waitTimeout} s`,
                    },
                  };
                },
              ),
          );
        }
      } catch (error) {
        if (isAuthError(error)) throw error;
        const { code, message } = describeError(error);
        outcomes.push({ fileId, error: { code, message } });
      }
    }
    await Promise.all(waits);
    follower?.close();
    const bad = outcomes.filter((o) => o.error || (flags.wait && o.status !== 'PROCESSED'));
    return {
      exitCode: ctx.signal.aborted ? EXIT.interrupted : bad.length > 0 ? EXIT.failed : EXIT.ok,
      data: outcomes,
      print: () =>
        outcomes.map((o) =>
          o.error
            ? `failed     ${o.fileId}  ${o.error.code}: ${o.error.message}`
            : `${(o.status ?? '').padEnd(9)}  ${o.fileId}${o.reason ? `  ${o.reason}` : ''}`,
        ),
    };
  },
};
