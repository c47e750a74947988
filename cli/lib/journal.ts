import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEntry, ResumeJournal } from '../../client/src/index.ts';
import { writePrivateFile } from './config.ts';

/**
 * What the CLI knows of one local file it uploaded, or began to: `requested` (POST /uploads was
 * sent; the answer, and so the file's id, may never have come back), `started` (the API recorded
 * the file; its bytes may not have arrived), `sent` (they did).
 */
export type UploadRecord =
  | {
      readonly state: 'requested';
      readonly path: string;
      readonly filename: string;
      readonly size: number;
      readonly at: string;
    }
  | {
      readonly state: 'started' | 'sent';
      readonly fileId: string;
      readonly method: 'POST' | 'MULTIPART';
      readonly path: string;
      readonly at: string;
    };

/** The same file, unchanged, sent to the same API: its path, size, mtime and the endpoint. */
export const fileFingerprint = (
  apiUrl: string,
  file: { readonly path: string; readonly size: number; readonly mtimeMs: number },
): string => JSON.stringify([apiUrl, file.path, file.size, Math.trunc(file.mtimeMs)]);

export interface FileJournal {
  get(fingerprint: string): UploadRecord | undefined;
  set(fingerprint: string, record: UploadRecord): void;
  delete(fingerprint: string): void;
  /** The client library's journal of multipart sessions (part checksums), in the same file. */
  readonly parts: ResumeJournal;
  close(): void;
}

/** Records of files sent are kept this long, so running the same command again skips them. */
const KEEP_SENT_MS = 30 * 24 * 3600 * 1000;

type Line =
  | { readonly k: 'file'; readonly fp: string; readonly v: UploadRecord | null }
  | { readonly k: 'part'; readonly fp: string; readonly v: JournalEntry | null };

/**
 * The upload journal of one profile, `uploads-<profile>.jsonl` in the config directory. Every
 * change is one appended line, written before the work it announces (a file's id before its
 * bytes leave), so a run killed at any moment leaves a journal that says where it was; a torn
 * last line is ignored. Opening it replays the lines and writes the result to a temporary file
 * renamed over the old one (so it never grows without end and is never half written).
 */
export const createFileJournal = (dir: string, profile: string): FileJournal => {
  const path = join(dir, `uploads-${profile.replace(/[^\w.-]/g, '_')}.jsonl`);
  const files = new Map<string, UploadRecord>();
  const parts = new Map<string, JournalEntry>();
  if (existsSync(path)) {
    for (const text of readFileSync(path, 'utf8').split('\n')) {
      if (text === '') continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        continue; // a line cut short by a kill
      }
      if (line.k === 'file') {
        if (line.v) files.set(line.fp, line.v);
        else files.delete(line.fp);
      } else if (line.k === 'part') {
        if (line.v) parts.set(line.fp, line.v);
        else parts.delete(line.fp);
      }
    }
  }
  const now = Date.now();
  for (const [fp, record] of files) {
    if (record.state === 'sent' && now - Date.parse(record.at) > KEEP_SENT_MS) files.delete(fp);
  }
  const compacted = [
    ...[...files].map(([fp, v]) => JSON.stringify({ k: 'file', fp, v })),
    ...[...parts].map(([fp, v]) => JSON.stringify({ k: 'part', fp, v })),
  ];
  writePrivateFile(path, compacted.length > 0 ? `${compacted.join('\n')}\n` : '');
  let fd: number | undefined = openSync(path, 'a', 0o600);

  const append = (line: Line): void => {
    if (fd === undefined) return;
    writeSync(fd, `${JSON.stringify(line)}\n`);
  };

  return {
    get: (fp) => files.get(fp),
    set(fp, record) {
      files.set(fp, record);
      append({ k: 'file', fp, v: record });
    },
    delete(fp) {
      if (!files.delete(fp)) return;
      append({ k: 'file', fp, v: null });
    },
    parts: {
      get: (fp) => parts.get(fp),
      set(fp, entry) {
        parts.set(fp, entry);
        append({ k: 'part', fp, v: entry });
      },
      delete(fp) {
        if (!parts.delete(fp)) return;
        append({ k: 'part', fp, v: null });
      },
      entries: () => [...parts.entries()],
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
};
