import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandPaths } from '../../../cli/lib/files.ts';

/** A tree of real files: folders, nested folders, a hidden file, a symlink to a file named twice. */
const root = realpathSync(mkdtempSync(join(tmpdir(), 'syncflow-files-')));

beforeAll(() => {
  mkdirSync(join(root, 'photos', '2024', 'summer'), { recursive: true });
  mkdirSync(join(root, 'docs'), { recursive: true });
  for (const [path, text] of [
    ['photos/b.jpg', 'b'],
    ['photos/a.jpg', 'aa'],
    ['photos/notes.txt', 'n'],
    ['photos/.hidden.jpg', 'h'],
    ['photos/2024/c.jpg', 'ccc'],
    ['photos/2024/summer/d.JPG', 'd'],
    ['docs/report.pdf', 'r'],
  ] as const) {
    writeFileSync(join(root, path), text);
  }
  symlinkSync(join(root, 'docs', 'report.pdf'), join(root, 'docs', 'latest.pdf'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const shown = async (inputs: string[]) => (await expandPaths(inputs, root)).map((f) => f.shown);

describe('expandPaths', () => {
  it('walks a folder recursively, in name order, hidden files included', async () => {
    expect(await shown(['photos'])).toEqual([
      'photos/.hidden.jpg',
      'photos/2024/c.jpg',
      'photos/2024/summer/d.JPG',
      'photos/a.jpg',
      'photos/b.jpg',
      'photos/notes.txt',
    ]);
  });

  it('expands a glob the shell left alone: ** across folders, no hidden files, case as given', async () => {
    expect(await shown(['photos/**/*.jpg'])).toEqual([
      'photos/2024/c.jpg',
      'photos/a.jpg',
      'photos/b.jpg',
    ]);
    expect(await shown(['photos/*.{jpg,txt}'])).toEqual([
      'photos/a.jpg',
      'photos/b.jpg',
      'photos/notes.txt',
    ]);
  });

  it('lists each file once however it was named (a folder, a glob, itself, a symlink)', async () => {
    const files = await expandPaths(['photos/a.jpg', 'photos', 'photos/*.jpg', 'docs'], root);
    expect(files.map((f) => f.shown)).toEqual([
      'photos/a.jpg',
      'photos/.hidden.jpg',
      'photos/2024/c.jpg',
      'photos/2024/summer/d.JPG',
      'photos/b.jpg',
      'photos/notes.txt',
      // latest.pdf is report.pdf: kept under the first name found.
      'docs/latest.pdf',
    ]);
    expect(files.find((f) => f.shown === 'docs/latest.pdf')).toMatchObject({
      path: join(root, 'docs', 'report.pdf'),
      name: 'latest.pdf',
      size: 1,
    });
    expect(files.find((f) => f.shown === 'photos/2024/c.jpg')?.size).toBe(3);
  });

  it('refuses, before anything is sent, a name that is no file, folder or matching glob', async () => {
    await expect(expandPaths(['photos/missing.jpg'], root)).rejects.toThrow(
      'photos/missing.jpg: no such file or folder',
    );
    await expect(expandPaths(['photos/*.png'], root)).rejects.toThrow(
      'photos/*.png: matches no file',
    );
    await expect(expandPaths(['photos', '/dev/null'], root)).rejects.toThrow(
      '/dev/null: is neither a file nor a folder',
    );
  });
});
