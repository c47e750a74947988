import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { usageError } from './errors.ts';

/** A local file to upload. */
export interface LocalFile {
  /** Absolute, symlinks resolved: the journal's key. */
  readonly path: string;
  /** As the user named it (or found under a folder they named), for messages. */
  readonly shown: string;
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

const walk = async (dir: string, found: string[]): Promise<void> => {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, found);
    else if (entry.isFile() || entry.isSymbolicLink()) found.push(path);
  }
};

/**
 * The files named on the command line: files as they are, folders recursively, and glob
 * patterns (`'photos/**\/*.jpg'`, for shells that did not expand them). A name that is none of
 * these is a usage error, before anything is sent. Each file once, however often it was named.
 */
export const expandPaths = async (inputs: readonly string[], cwd = process.cwd()) => {
  const named: string[] = [];
  for (const input of inputs) {
    const absolute = resolve(cwd, input);
    const info = await stat(absolute).catch(() => undefined);
    if (info?.isDirectory()) await walk(absolute, named);
    else if (info?.isFile()) named.push(absolute);
    else if (isDynamicPattern(input)) {
      const matches = await glob(input, { cwd, absolute: true, onlyFiles: true, dot: false });
      if (matches.length === 0) throw usageError(`${input}: matches no file`);
      named.push(...matches.sort());
    } else if (info) throw usageError(`${input}: is neither a file nor a folder`);
    else throw usageError(`${input}: no such file or folder`);
  }
  const seen = new Set<string>();
  const files: LocalFile[] = [];
  for (const path of named) {
    const real = await realpath(path).catch(() => undefined);
    if (!real || seen.has(real)) continue;
    const info = await stat(real);
    if (!info.isFile()) continue;
    seen.add(real);
    files.push({
      path: real,
      shown: path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path,
      name: basename(path),
      size: info.size,
      mtimeMs: info.mtimeMs,
    });
  }
  return files;
};

/**
 * The type a file is declared as, from its name: the processor decides from the bytes anyway
 * and rejects a file whose bytes contradict it, so this only needs to be right for honest files.
 */
const TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.md': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
};

export const contentTypeOf = (name: string): string =>
  TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';

/** The file's SHA-256 in base64, read as a stream (constant memory at any size). */
export const sha256Of = async (path: string, signal?: AbortSignal): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, {
    highWaterMark: 1024 * 1024,
    ...(signal && { signal }),
  })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('base64');
};
