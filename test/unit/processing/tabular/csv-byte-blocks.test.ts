import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ByteBlockTask, inspectCsvBytes } from '#shared/processing/tabular/csv-byte-blocks.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncflow-bytes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const task = (text: string, width = 3): ByteBlockTask => ({
  bytes: new TextEncoder().encode(text),
  delimiter: ',',
  width,
  header: false,
  fileHasHeader: true,
  maxRecordChars: 1000,
  previewRows: 0,
  previewValueChars: 200,
  malformedExamples: 10,
  spillPath: join(dir, 'spill.csv'),
});

describe('inspectCsvBytes', () => {
  it('reads simple lines itself: quoted values, `""`, \\r\\n, empty lines, a ragged row, no last line end', async () => {
    const result = inspectCsvBytes(
      task('1,"a, ""b""",2.5\r\n\n2,plain,NULL\n3,only\n4,"São",\\N\r\n5,x,7'),
    );
    expect(result).toMatchObject({
      rows: 4,
      malformedCount: 1,
      malformed: [{ line: 4, reason: '2 values where the header has 3' }],
      lineBreaks: 5,
    });
    expect(result?.evidence.map((e) => [e.values, e.nulls])).toEqual([
      [4, 0],
      [4, 0],
      [2, 0],
    ]);
    // Good rows as written, each ended by \n; the ragged one and the empty line left out.
    expect(await readFile(join(dir, 'spill.csv'), 'utf8')).toBe(
      '1,"a, ""b""",2.5\n2,plain,NULL\n4,"São",\\N\n5,x,7\n',
    );
  });

  it('leaves to the text reader a value over lines, a stray quote, text after a quote, a lone \\r', () => {
    expect(inspectCsvBytes(task('1,"two\nlines",3\n'))).toBeUndefined();
    expect(inspectCsvBytes(task('1,x"y,3\n'))).toBeUndefined();
    expect(inspectCsvBytes(task('1,"q" r,3\n'))).toBeUndefined();
    expect(inspectCsvBytes(task('1,a\rb,3\n'))).toBeUndefined();
    expect(inspectCsvBytes(task('1,"never closed,3\n'))).toBeUndefined();
    expect(inspectCsvBytes(task(`1,${'y'.repeat(2000)},3\n`))).toBeUndefined();
  });
});
