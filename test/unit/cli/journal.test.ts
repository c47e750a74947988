import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandPaths } from '../../../cli/lib/files.ts';
import { createFileJournal, fileFingerprint } from '../../../cli/lib/journal.ts';
import { formatBytes, formatDuration, table } from '../../../cli/lib/output.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'syncflow-cli-unit-'));

describe('the upload journal', () => {
  it('finds what a killed run wrote, ignores a torn last line, and compacts on open', () => {
    // Prepare
    const config = dir();
    const first = createFileJournal(config, 'local');
    first.set('a', {
      state: 'requested',
      path: '/a',
      filename: 'a',
      size: 1,
      at: new Date().toISOString(),
    });
    first.set('a', {
      state: 'started',
      fileId: 'f-a',
      method: 'POST',
      path: '/a',
      at: new Date().toISOString(),
    });
    first.set('b', {
      state: 'sent',
      fileId: 'f-b',
      method: 'POST',
      path: '/b',
      at: new Date().toISOString(),
    });
    first.parts.set('c', {
      fileId: 'f-c',
      uploadId: 'u',
      partSize: 5,
      partCount: 2,
      filename: 'c',
      size: 9,
      crcs: { 1: 'x' },
      startedAt: '',
    });
    // A kill in the middle of a write leaves half a line; no close.
    const path = join(config, 'uploads-local.jsonl');
    appendFileSync(path, '{"k":"file","fp":"d","v":{"sta');

    // Act
    const second = createFileJournal(config, 'local');

    // Assess
    expect(second.get('a')).toMatchObject({ state: 'started', fileId: 'f-a' });
    expect(second.get('b')).toMatchObject({ state: 'sent' });
    expect(second.get('d')).toBeUndefined();
    expect(second.parts.get('c')?.crcs).toEqual({ 1: 'x' });
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(3);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    second.delete('a');
    second.close();
    expect(createFileJournal(config, 'local').get('a')).toBeUndefined();
  });

  it('keys a file by its API, path, size and modification time', () => {
    const file = { path: '/x/y.jpg', size: 10, mtimeMs: 1_700_000_000_123.4 };
    const key = fileFingerprint('https://api/one/', file);
    expect(fileFingerprint('https://api/one/', { ...file })).toBe(key);
    expect(fileFingerprint('https://api/two/', file)).not.toBe(key);
    expect(fileFingerprint('https://api/one/', { ...file, size: 11 })).not.toBe(key);
    expect(fileFingerprint('https://api/one/', { ...file, mtimeMs: file.mtimeMs + 1000 })).not.toBe(
      key,
    );
  });
});

describe('the files named on the command line', () => {
  it('takes files, folders recursively and globs, each file once', async () => {
    const root = dir();
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    writeFileSync(join(root, 'one.jpg'), 'x');
    writeFileSync(join(root, 'a', 'two.csv'), 'x');
    writeFileSync(join(root, 'a', 'b', 'three.jpg'), 'x');
    symlinkSync(join(root, 'one.jpg'), join(root, 'a', 'link.jpg'));
    const files = await expandPaths(['one.jpg', 'a', '**/*.jpg'], root);
    expect(files.map((f) => f.shown).sort()).toEqual(['a/b/three.jpg', 'a/two.csv', 'one.jpg']);
    await expect(expandPaths(['missing.txt'], root)).rejects.toMatchObject({ exitCode: 2 });
    await expect(expandPaths(['*.png'], root)).rejects.toThrow(/matches no file/);
  });
});

describe('how results are shown', () => {
  it('sizes, durations and tables read as a person expects', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(102_400)).toBe('102 kB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--:--');
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['1', 'a'],
          ['22', 'bb'],
        ],
      ),
    ).toEqual(['ID  NAME', '1   a', '22  bb']);
  });
});
