import { describe, expect, it } from 'vitest';
import { LineBlockCutter } from '#shared/processing/logs/line-blocks.ts';

/** The lines of `text` as the log reader must see them, written the plain way. */
const expectedLines = (text: string, maxLineChars: number): string[] => {
  const lines = text.split(/\r\n|\r|\n/);
  if (/[\r\n]$/.test(text) || text === '') lines.pop();
  return lines.map((l) => l.slice(0, maxLineChars));
};

/** Cuts `text` given in pieces of `chunk` characters; the lines of the blocks, cut as a worker does. */
const cutLines = (
  text: string,
  chunk: number,
  blockChars: number,
  maxLineChars: number,
): { lines: string[]; counted: number } => {
  const cutter = new LineBlockCutter(blockChars, maxLineChars);
  const blocks = [];
  for (let at = 0; at < text.length; at += chunk)
    blocks.push(...cutter.push(text.slice(at, at + chunk)));
  blocks.push(...cutter.end());
  const lines = blocks.flatMap((b) => b.text.split('\n').map((l) => l.slice(0, maxLineChars)));
  return { lines, counted: blocks.reduce((n, b) => n + b.lines, 0) };
};

/** A deterministic text of short, blank and over-long lines with every kind of line end. */
const sample = (seed: number, length: number): string => {
  let x = seed;
  const next = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const ends = ['\n', '\r\n', '\r'];
  let text = '';
  while (text.length < length) {
    const size = next(10) === 0 ? 100 + next(400) : next(3) === 0 ? 0 : next(40);
    text += 'abcdefghij'.repeat(50).slice(0, size);
    text += ends[next(3)];
  }
  return next(2) === 0 ? text : text.slice(0, -1);
};

describe('LineBlockCutter', () => {
  it('gives the same lines whatever the chunks and blocks, long lines cut', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const text = sample(seed, 5_000);
      const expected = expectedLines(text, 64);
      for (const chunk of [1, 2, 7, 64, 1_000, 10_000]) {
        for (const blockChars of [16, 300, 100_000]) {
          const { lines, counted } = cutLines(text, chunk, blockChars, 64);
          expect(lines, `seed ${seed}, chunks of ${chunk}, blocks of ${blockChars}`).toEqual(
            expected,
          );
          expect(counted).toBe(expected.length);
        }
      }
    }
  });

  it('holds no more than a block of an endless line', () => {
    const cutter = new LineBlockCutter(1_000, 100);
    for (let i = 0; i < 1_000; i++) expect(cutter.push('x'.repeat(1_000))).toEqual([]);
    expect(cutter.push('tail\nnext')).toEqual([]);
    expect(cutter.end()).toEqual([{ text: `${'x'.repeat(100)}\nnext`, lines: 2 }]);
  });
});
