import type { FileQuery, FileStatus, FileSummary, SortOrder } from '../../client/src/index.ts';
import { type Command, positiveInt } from '../lib/command.ts';
import { EXIT, usageError } from '../lib/errors.ts';
import { formatBytes, table } from '../lib/output.ts';

export interface LsFlags {
  readonly status?: FileStatus;
  readonly type?: string;
  readonly name?: string;
  readonly from?: string;
  readonly to?: string;
  readonly sort: SortOrder;
  readonly limit: number;
  readonly cursor?: string;
  readonly all: boolean;
}

const STATUSES = [
  'PENDING_UPLOAD',
  'UPLOADED',
  'PROCESSING',
  'PROCESSED',
  'FAILED',
  'REJECTED',
  'EXPIRED',
];
const SORTS = ['createdAt', '-createdAt', 'size', '-size', 'filename', '-filename'];

const oneOf = (flag: string, allowed: readonly string[]) => (value: string) => {
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!found) throw usageError(`${flag}: must be one of ${allowed.join(', ')}`);
  return found;
};

export const ls: Command<LsFlags> = {
  name: 'ls',
  summary: 'List your files, filtered and sorted as the API allows',
  description:
    "One page of files (--limit, then --cursor with the next page's cursor), or every page with " +
    "--all. Filters are the API's: status, content type (exact or a family such as image/*), " +
    'a filename prefix, and a creation date range.',
  examples: [
    'syncflow ls --status FAILED',
    "syncflow ls --type 'image/*' --sort -size --limit 50",
    'syncflow ls --name report --from 2026-01-01 --all --json',
  ],
  flags: [
    {
      flags: '--status <status>',
      description: `only files in this status (${STATUSES.join(', ')})`,
      parse: oneOf('--status', STATUSES),
    },
    {
      flags: '--type <contentType>',
      description: 'only this content type, or a family like image/*',
    },
    { flags: '--name <prefix>', description: 'only files whose name starts with this (any case)' },
    { flags: '--from <date>', description: 'created at or after this ISO 8601 date or time' },
    { flags: '--to <date>', description: 'created at or before this ISO 8601 date or time' },
    {
      flags: '--sort <order>',
      description: `order (${SORTS.join(', ')})`,
      default: '-createdAt',
      parse: oneOf('--sort', SORTS),
    },
    {
      flags: '-n, --limit <n>',
      description: 'files a page',
      default: 20,
      parse: positiveInt('--limit', 100),
    },
    { flags: '--cursor <cursor>', description: 'the page after the one that gave this cursor' },
    { flags: '-a, --all', description: 'every page, not just the first', default: false },
  ],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const query: FileQuery = {
      ...(flags.status && { status: flags.status }),
      ...(flags.type && { contentType: flags.type }),
      ...(flags.name && { q: flags.name }),
      ...(flags.from && { createdFrom: flags.from }),
      ...(flags.to && { createdTo: flags.to }),
      sort: flags.sort,
      limit: flags.limit,
      ...(flags.cursor && { cursor: flags.cursor }),
    };
    const items: FileSummary[] = [];
    let nextCursor: string | null = null;
    do {
      const page = await client.api.listFiles(
        { ...query, ...(nextCursor && { cursor: nextCursor }) },
        ctx.signal,
      );
      // Short-lived URLs are noise in a table and stale in a saved listing.
      items.push(...page.items.map(({ thumbnailUrl: _url, ...rest }) => rest));
      nextCursor = page.nextCursor;
    } while (flags.all && nextCursor);
    const data = { items, nextCursor };
    return {
      exitCode: EXIT.ok,
      data,
      print: () => {
        const lines = table(
          ['FILE ID', 'STATUS', 'SIZE', 'CREATED', 'TYPE', 'NAME'],
          items.map((f) => [
            f.fileId,
            f.status,
            formatBytes(f.size),
            f.createdAt.replace(/\.\d+Z$/, 'Z'),
            f.contentType,
            f.reason ? `${f.filename}  (${f.reason})` : f.filename,
          ]),
        );
        if (items.length === 0) return ['No files match.'];
        if (nextCursor)
          lines.push(`More: syncflow ls --cursor ${nextCursor} (same filters), or --all`);
        return lines;
      },
    };
  },
};
