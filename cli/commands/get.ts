import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from '../lib/command.ts';
import { CliError, EXIT, usageError } from '../lib/errors.ts';
import { formatBytes } from '../lib/output.ts';

export interface GetFlags {
  readonly derivative?: string;
  readonly output?: string;
  readonly force: boolean;
}

export const get: Command<GetFlags> = {
  name: 'get',
  args: '<fileId>',
  summary: 'Download a file, or one of its derivatives',
  description:
    'Writes the original (the version the processor checked) under its own name in the current ' +
    "folder, or where -o says (`-o -` writes to stdout). The original's SHA-256 is checked " +
    'against the one the processor recorded; a mismatch removes what was written and exits 1. ' +
    'An existing file is not overwritten without --force.',
  examples: [
    'syncflow get 0b6c…',
    'syncflow get 0b6c… --derivative thumbnail -o thumb.webp',
    'syncflow get 0b6c… -o - | sha256sum',
  ],
  flags: [
    {
      flags: '-d, --derivative <name>',
      description: 'a derivative instead of the original (thumbnail, preview)',
    },
    {
      flags: '-o, --output <path>',
      description: "where to write it ('-' for stdout; default: its name)",
    },
    { flags: '-f, --force', description: 'overwrite an existing file', default: false },
  ],
  async run(ctx, [fileId], flags) {
    if (!fileId) throw usageError('Which file? Give its id (syncflow ls lists them)');
    const client = await ctx.client();
    const file = await client.api.getFile(fileId, ctx.signal);
    let url: string;
    let name: string;
    let expectSha: string | null = null;
    if (flags.derivative) {
      // `thumbnail` finds thumbnail.webp: the name with or without its extension.
      const found = file.derivatives.find(
        (d) => d.name === flags.derivative || d.name.replace(/\.[^.]+$/, '') === flags.derivative,
      );
      if (!found) {
        const names = file.derivatives.map((d) => d.name).join(', ') || 'none';
        throw new CliError(
          `The file has no derivative ${flags.derivative} (it has: ${names})`,
          EXIT.failed,
          'NOT_FOUND',
        );
      }
      url = found.url;
      name = `${file.filename.replace(/\.[^.]*$/, '')}-${found.name}`;
    } else {
      if (!file.download) {
        throw new CliError(
          `Nothing to download yet: the file is ${file.status}`,
          EXIT.failed,
          'CONFLICT',
        );
      }
      url = file.download.url;
      name = file.filename;
      expectSha = file.sha256;
    }
    const response = await fetch(url, { signal: ctx.signal });
    if (!response.ok || !response.body) {
      throw new CliError(
        `The download was refused (${response.status})`,
        EXIT.failed,
        'DOWNLOAD_FAILED',
      );
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    const toStdout = flags.output === '-';
    // Only the name's last segment: a filename never chooses the folder it lands in.
    const target = toStdout ? '-' : resolve(flags.output ?? basename(name));
    if (!toStdout && existsSync(target) && !flags.force) {
      throw usageError(`${target} exists: choose another with -o, or overwrite with --force`);
    }
    const temporary = `${target}.${process.pid}.part`;
    if (toStdout) await pipeline(body, counting, process.stdout, { end: false });
    else await pipeline(body, counting, createWriteStream(temporary, { mode: 0o644 }));
    const sha256 = hash.digest('hex');
    if (expectSha && sha256 !== expectSha) {
      if (!toStdout) rmSync(temporary, { force: true });
      throw new CliError(
        `The bytes received differ from the file's SHA-256 (${expectSha}); nothing kept`,
        EXIT.failed,
        'CHECKSUM_MISMATCH',
      );
    }
    if (!toStdout) renameSync(temporary, target);
    // Written to stdout already: nothing more may go there.
    if (toStdout) return { exitCode: EXIT.ok };
    const data = {
      fileId,
      path: target,
      size: bytes,
      sha256,
      ...(flags.derivative && { derivative: flags.derivative }),
    };
    ctx.out.note(`${formatBytes(bytes)} written`);
    return { exitCode: EXIT.ok, data, print: () => [target] };
  },
};
