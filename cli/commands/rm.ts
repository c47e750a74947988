import type { Command } from '../lib/command.ts';
import { describeError, EXIT, isAuthError, usageError } from '../lib/errors.ts';

export const rm: Command<Record<string, never>> = {
  name: 'rm',
  args: '<fileIds...>',
  summary: 'Delete files (the original, its derivatives and every version of them)',
  description:
    'Deleting a file that is already deleted succeeds too. Exits 1 when any file could not be ' +
    'deleted (one that does not exist, or is not yours, is NOT_FOUND).',
  examples: [
    'syncflow rm 0b6c…',
    "syncflow ls --status FAILED --json | jq -r '.result.items[].fileId' | xargs syncflow rm",
  ],
  flags: [],
  async run(ctx, fileIds) {
    if (fileIds.length === 0) throw usageError('Which files? Give their ids');
    const client = await ctx.client();
    const deleted: string[] = [];
    const failed: { fileId: string; code: string; message: string }[] = [];
    for (const fileId of fileIds) {
      if (ctx.signal.aborted) break;
      try {
        await client.api.deleteFile(fileId);
        deleted.push(fileId);
      } catch (error) {
        if (isAuthError(error)) throw error;
        const { code, message } = describeError(error);
        failed.push({ fileId, code, message });
      }
    }
    return {
      exitCode: ctx.signal.aborted ? EXIT.interrupted : failed.length > 0 ? EXIT.failed : EXIT.ok,
      data: { deleted, failed },
      print: () => [
        ...deleted.map((id) => `deleted  ${id}`),
        ...failed.map((f) => `failed   ${f.fileId}  ${f.code}: ${f.message}`),
      ],
    };
  },
};
