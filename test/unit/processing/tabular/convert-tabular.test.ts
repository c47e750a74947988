import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ConvertTabularOptions,
  convertTabular,
  type TabularOutcome,
} from '#shared/processing/tabular/convert-tabular.ts';
import { DEFAULT_TABULAR_LIMITS } from '#shared/processing/tabular/inspect-tabular.ts';
import { opener, readParquet } from '../../../support/parquet.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncflow-tabular-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const convert = (
  data: Buffer | string,
  options: Partial<ConvertTabularOptions> = {},
  chunk = 64 * 1024,
): Promise<TabularOutcome> =>
  convertTabular(opener(Buffer.isBuffer(data) ? data : Buffer.from(data), chunk), {
    scratchDir: dir,
    outPath: join(dir, 'out.parquet'),
    // One DuckDB thread: the unit suites run side by side on few cores.
    engine: { threads: 1, memoryLimitMb: 256, tempDirectory: dir },
    ...options,
  });

const processed = (outcome: TabularOutcome) => {
  if (outcome.status !== 'PROCESSED') throw new Error(`expected PROCESSED, got ${outcome.reason}`);
  return outcome;
};

const MIXED = [
  'id,name,amount,ratio,active,day,seen_at,logged_at,zip,note',
  '1,Ana,12.50,1.5e3,true,2024-02-29,2024-02-29 10:00:00,2024-02-29T10:00:00.123456Z,02139,"says ""hi"", then\nleaves"',
  '2,Bo,-0.25,0.1,FALSE,2024-03-01,2024-03-01T23:59:59.5,2024-03-01T23:59:59+02:00,10001,',
  '3,,1000,-2,true,,,2024-03-02T00:00:00-0130,00501,NULL',
  '9007199254740993,"Çé",0.00,3,false,2025-12-31,2025-12-31 00:00,2025-12-31T00:00:00Z,12345,"NULL"',
].join('\r\n');

describe('convertTabular on CSV', () => {
  it('infers every type from the whole file and writes exactly those values to Parquet', async () => {
    const outcome = processed(await convert(MIXED, {}, 7));
    const { summary, parquet } = outcome;
    expect(summary).toMatchObject({ format: 'csv', delimiter: ',', header: true, rowCount: 4 });
    expect(summary.columns.map((c) => [c.sqlName, c.type, c.nullCount])).toEqual([
      ['id', 'integer', 0],
      ['name', 'string', 1],
      ['amount', 'decimal(6,2)', 0],
      ['ratio', 'double', 0],
      ['active', 'boolean', 0],
      ['day', 'date', 1],
      ['seen_at', 'timestamp', 1],
      ['logged_at', 'timestamp with time zone', 0],
      ['zip', 'string', 0],
      ['note', 'string', 2],
    ]);
    const back = await readParquet(parquet.path, 'id');
    expect(back.types).toEqual({
      id: 'BIGINT',
      name: 'VARCHAR',
      amount: 'DECIMAL(6,2)',
      ratio: 'DOUBLE',
      active: 'BOOLEAN',
      day: 'DATE',
      seen_at: 'TIMESTAMP',
      // Zoned timestamps are kept as UTC instants.
      logged_at: 'TIMESTAMP',
      zip: 'VARCHAR',
      note: 'VARCHAR',
    });
    expect(back.rows).toEqual([
      [
        '1',
        'Ana',
        '12.50',
        '1500.0',
        'true',
        '2024-02-29',
        '2024-02-29 10:00:00',
        '2024-02-29 10:00:00.123456',
        '02139',
        'says "hi", then\nleaves',
      ],
      [
        '2',
        'Bo',
        '-0.25',
        '0.1',
        'false',
        '2024-03-01',
        '2024-03-01 23:59:59.5',
        '2024-03-01 21:59:59',
        '10001',
        null,
      ],
      ['3', null, '1000.00', '-2.0', 'true', null, null, '2024-03-02 01:30:00', '00501', null],
      [
        '9007199254740993',
        'Çé',
        '0.00',
        '3.0',
        'false',
        '2025-12-31',
        '2025-12-31 00:00:00',
        '2025-12-31 00:00:00',
        '12345',
        'NULL',
      ],
    ]);
    const amount = summary.columns.find((c) => c.sqlName === 'amount');
    expect(amount).toMatchObject({ min: '-0.25', max: '1000.00', tableType: 'decimal(6,2)' });
    expect(summary.preview.rows[0]?.slice(0, 5)).toEqual([1, 'Ana', '12.50', 1500, true]);
    expect(summary.preview.rows[3]?.[0]).toBe('9007199254740993');
    expect(await readdir(dir)).toEqual(['out.parquet']);
  });

  it('reads gzip TSV with a byte order mark and tells its header from its data', async () => {
    const tsv = `\uFEFFcity\tpopulation\nLisbon\t545796\nPorto\t231800\n`;
    const outcome = processed(await convert(gzipSync(Buffer.from(tsv)), {}, 5));
    expect(outcome.summary).toMatchObject({
      delimiter: '\t',
      header: true,
      compression: 'gzip',
      encoding: 'utf-8',
    });
    const back = await readParquet(outcome.parquet.path, 'population');
    expect(back.types).toEqual({ city: 'VARCHAR', population: 'BIGINT' });
    expect(back.rows).toEqual([
      ['Porto', '231800'],
      ['Lisbon', '545796'],
    ]);
  });

  it('names columns itself when the first row is data, and reads semicolons', async () => {
    const outcome = processed(await convert('1;2024-01-01;x\n2;2024-01-02;y\n'));
    expect(outcome.summary.header).toBe(false);
    expect(outcome.summary.columns.map((c) => `${c.sqlName}:${c.type}`)).toEqual([
      'column_1:integer',
      'column_2:date',
      'column_3:string',
    ]);
  });

  it('decodes Latin-1 and UTF-16 text', async () => {
    const latin1 = Buffer.from('name,town\nJosé,Évora\n', 'latin1');
    const a = processed(await convert(latin1));
    expect(a.summary.encoding).toBe('windows-1252');
    expect((await readParquet(a.parquet.path)).rows).toEqual([['José', 'Évora']]);

    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from('name,n\nZoë,1\n', 'utf16le'),
    ]);
    const b = processed(await convert(utf16, {}, 3));
    expect(b.summary.encoding).toBe('utf-16le');
    expect((await readParquet(b.parquet.path)).rows).toEqual([['Zoë', '1']]);
  });

  it('reads the file again as windows-1252 when non-UTF-8 bytes come after the first 64 KiB', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `row ${i},${i}`).join('\n');
    const data = Buffer.concat([
      Buffer.from(`name,n\n${rows}\n`),
      Buffer.from('caf\xe9,5001\n', 'latin1'),
    ]);
    const open = opener(data);
    const outcome = processed(
      await convertTabular(open, { scratchDir: dir, outPath: join(dir, 'out.parquet') }),
    );
    expect(open.calls).toBe(2);
    expect(outcome.summary.encoding).toBe('windows-1252');
    expect(outcome.summary.rowCount).toBe(5001);
    const back = await readParquet(outcome.parquet.path, 'n DESC');
    expect(back.rows[0]).toEqual(['café', '5001']);
  });

  it('accepts mixed line endings, lone carriage returns included', async () => {
    const outcome = processed(await convert('a,b\r\n1,x\n2,y\r3,z\r\n4,w', {}, 4));
    expect(outcome.summary.rowCount).toBe(4);
    expect((await readParquet(outcome.parquet.path, 'a')).rows).toEqual([
      ['1', 'x'],
      ['2', 'y'],
      ['3', 'z'],
      ['4', 'w'],
    ]);
  });

  it('reads quoted values of one line in place, as the quoted reader reads them', async () => {
    const csv = [
      'id,text,num,flag,odd',
      // Wholly quoted values on one line: read in place and spilled as written.
      '1,"a, ""b""","12","false",plain',
      // A quote inside an unquoted value, text after a closing quote, a value over two lines:
      // the quoted reader's.
      '2,"NULL",7,"true",x"y',
      '3,"line\nbreak",9,false,"q" r',
      '4,"",10,,"ok"',
    ].join('\n');
    const outcome = processed(await convert(csv));
    expect(outcome.summary.columns.map((c) => [c.sqlName, c.type, c.nullCount])).toEqual([
      ['id', 'integer', 0],
      ['text', 'string', 0],
      ['num', 'integer', 0],
      ['flag', 'boolean', 1],
      ['odd', 'string', 0],
    ]);
    expect(outcome.summary.preview.rows[0]).toEqual([1, 'a, "b"', 12, false, 'plain']);
    expect((await readParquet(outcome.parquet.path, 'id')).rows).toEqual([
      ['1', 'a, "b"', '12', 'false', 'plain'],
      ['2', 'NULL', '7', 'true', 'x"y'],
      ['3', 'line\nbreak', '9', 'false', 'q r'],
      ['4', '', '10', null, 'ok'],
    ]);
  });
});

describe('convertTabular on a file of many blocks', () => {
  it('reads blocks on worker threads exactly as in one thread, line numbers included', async () => {
    const lines = ['id,text,half'];
    let line = 1;
    let raggedLine = 0;
    for (let i = 1; i <= 40_000; i++) {
      if (i === 35_000) {
        lines.push(`${i},only two`);
        raggedLine = ++line;
        continue;
      }
      // Every 997th row holds a line break inside quotes, which no block may be cut at.
      lines.push(i % 997 === 0 ? `${i},"first ""half""\nsecond",${i / 2}` : `${i},t${i},${i / 2}`);
      line += i % 997 === 0 ? 2 : 1;
    }
    const csv = `${lines.join('\n')}\n`;
    // About 40 blocks of 16 Ki characters.
    const limits = { ...DEFAULT_TABULAR_LIMITS, blockChars: 16 * 1024 };
    const threaded = processed(await convert(csv, { threads: 2, limits }));
    const single = processed(
      await convert(csv, { threads: 0, limits, outPath: join(dir, 'single.parquet') }),
    );
    expect(threaded.summary).toEqual(single.summary);
    expect(threaded.summary.rowCount).toBe(39_999);
    expect(threaded.summary.malformed).toEqual({
      count: 1,
      examples: [{ line: raggedLine, reason: '2 values where the header has 3' }],
    });
    expect(threaded.summary.columns.map((c) => c.type)).toEqual([
      'integer',
      'string',
      'decimal(6,1)',
    ]);
    const back = await readParquet(threaded.parquet.path, 'id');
    expect(back.rows[996]).toEqual(['997', 'first "half"\nsecond', '498.5']);
    expect(back.rows.length).toBe(39_999);
  });
});

describe('convertTabular reading UTF-8 CSV as bytes', () => {
  /** The file read as bytes (the default) and by the text reader, both on two threads. */
  const bothWays = async (csv: string, limits: ConvertTabularOptions['limits'], chunk: number) => {
    const bytes = processed(await convert(csv, { threads: 2, limits }, chunk));
    const text = processed(
      await convert(
        csv,
        { threads: 2, limits, byteBlocks: false, outPath: join(dir, 't.parquet') },
        chunk,
      ),
    );
    return { bytes, text };
  };

  /** Rows of every shape the byte reader takes or hands to the text reader, in many blocks. */
  const awkward = (): string => {
    const parts = ['id,name,amount,when,flag,note\r\n'];
    for (let i = 1; i <= 6000; i++) {
      const end = i % 3 === 0 ? '\r\n' : '\n';
      if (i === 1500) parts.push(`${i},ragged${end}`);
      else if (i === 2500) parts.push(`${i},"two\nlines",1.5,2024-01-01T00:00:00Z,true,x${end}`);
      else if (i === 3500) parts.push(`${i},lone\rcr,1.5,2024-01-01T00:00:00Z,true,x${end}`);
      else if (i === 4000) parts.push(`\n${end}`);
      else if (i === 4500) parts.push(`${i},x"y,1.5,2024-01-01T00:00:00Z,true,x${end}`);
      else if (i === 5000) parts.push(`${i},"cr\rin quotes",1.5,2024-01-01T00:00:00Z,true,x${end}`);
      // A lone \r, then a quoted value over two lines at the start of the line it begins.
      else if (i === 5500)
        parts.push(`${i},lone\r"two\nlines",1.5,2024-01-01T00:00:00Z,true${end}`);
      else {
        const name = i % 7 === 0 ? `"São, ""Paulo"""` : i % 11 === 0 ? '"NULL"' : `n${i}`;
        const amount = i % 13 === 0 ? 'NULL' : i % 17 === 0 ? '\\N' : `${i}.${i % 100}`;
        const when =
          i % 19 === 0 ? '' : `2024-02-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z`;
        const flag = i % 2 === 0 ? 'TRUE' : 'false';
        parts.push(`${i},${name},${amount},${when},${flag},"q${i}"${end}`);
      }
    }
    // The last line has no line end.
    parts.push('6001,end,1.00,2024-03-01T00:00:00Z,true,last');
    return parts.join('');
  };

  it('reads exactly what the text reader reads: types, rows, malformed lines, Parquet', async () => {
    const csv = awkward();
    // About 60 blocks: most read as bytes, those with a stray quote, a value over two lines or a
    // lone \r handed to the text reader.
    const limits = { ...DEFAULT_TABULAR_LIMITS, blockChars: 4 * 1024 };
    const { bytes, text } = await bothWays(csv, limits, 1000);
    expect(bytes.summary).toEqual(text.summary);
    // The lone \r makes row 3500 two lines of 2 and 5 values, and row 5500 one of 2 values and a
    // row of 5 over two lines; `x"y` is text.
    expect(bytes.summary.malformed.examples.map((m) => m.line)).toEqual([
      1501, 3502, 3503, 5505, 5506,
    ]);
    expect(bytes.summary.columns.map((c) => [c.sqlName, c.type, c.nullCount])).toEqual([
      ['id', 'integer', 0],
      ['name', 'string', 0],
      // NULL every 13th row, \\N every 17th (786 in all); no time every 19th.
      ['amount', 'decimal(6,2)', 786],
      ['when', 'timestamp with time zone', 315],
      ['flag', 'boolean', 0],
      ['note', 'string', 0],
    ]);
    const a = await readParquet(bytes.parquet.path, 'id');
    expect(a).toEqual(await readParquet(text.parquet.path, 'id'));
    expect(a.rows.length).toBe(bytes.summary.rowCount);
  });

  it('gives up on a quote left open past the limit as the text reader does', async () => {
    const limits = { ...DEFAULT_TABULAR_LIMITS, blockChars: 1024, maxRecordChars: 1000 };
    const rows = Array.from({ length: 3000 }, (_, i) => `${i},x${i}`).join('\n');
    const csv = `a,b\n1,"open\n${rows}\n`;
    const { bytes, text } = await bothWays(csv, limits, 700);
    expect(bytes.summary).toEqual(text.summary);
    expect(bytes.summary.rowCount).toBe(3000);
    expect(bytes.summary.malformed.examples).toEqual([
      {
        line: 2,
        reason: 'a quoted value opened on this line runs past 1000 characters (a quote left open?)',
      },
    ]);
  });

  it('skips a line too long to hold as the text reader does, with its line number', async () => {
    const limits = { ...DEFAULT_TABULAR_LIMITS, blockChars: 1024, maxRecordChars: 1000 };
    const csv = `a,b\n${Array.from({ length: 300 }, (_, i) => `${i},x`).join('\n')}\n1,${'é'.repeat(20_000)}\n2,z\n`;
    const { bytes, text } = await bothWays(csv, limits, 512);
    expect(bytes.summary).toEqual(text.summary);
    expect(bytes.summary.rowCount).toBe(301);
    expect(bytes.summary.malformed.examples).toEqual([
      { line: 302, reason: 'the line is longer than 1000 characters; it was skipped' },
    ]);
  });
});

describe('convertTabular statistics', () => {
  it('reads min, max and nulls of typed columns from the footer, across row groups', async () => {
    // 300,000 rows: three row groups; `late` is null in the whole first one.
    const lines = ['n,late,price,day,flag,label'];
    for (let i = 0; i < 300_000; i++) {
      const late = i < 130_000 ? '' : String(i - 200_000);
      const day = `2024-01-${String((i % 28) + 1).padStart(2, '0')}`;
      lines.push(`${i},${late},${(i % 1000) / 100},${i % 5 === 0 ? '' : day},${i % 2 === 0},w${i}`);
    }
    const outcome = processed(await convert(`${lines.join('\n')}\n`));
    expect(
      outcome.summary.columns.map((c) => [c.sqlName, c.type, c.nullCount, c.min, c.max]),
    ).toEqual([
      ['n', 'integer', 0, '0', '299999'],
      ['late', 'integer', 130_000, '-70000', '99999'],
      ['price', 'decimal(3,2)', 0, '0.00', '9.99'],
      ['day', 'date', 60_000, '2024-01-01', '2024-01-28'],
      ['flag', 'boolean', 0, 'false', 'true'],
      ['label', 'string', 0, 'w0', 'w99999'],
    ]);
  });
});

describe('convertTabular on JSON', () => {
  it('reads NDJSON whose later lines add keys, nested values kept as JSON text', async () => {
    const ndjson = [
      '{"id":1,"price":9.99,"tags":["a"],"ok":true}',
      '',
      '{"id":2,"price":10,"ok":false,"at":"2024-05-01T12:00:00Z"}',
      '{"id":3,"price":null,"meta":{"k":"v"},"at":"2024-05-02T12:00:00Z"}',
    ].join('\n');
    const outcome = processed(await convert(ndjson, {}, 9));
    expect(outcome.summary.format).toBe('ndjson');
    expect(outcome.summary.columns.map((c) => `${c.sqlName}:${c.type}:${c.nullCount}`)).toEqual([
      'id:integer:0',
      'price:decimal(4,2):1',
      'tags:string:2',
      'ok:boolean:1',
      'at:timestamp with time zone:1',
      'meta:string:2',
    ]);
    const back = await readParquet(outcome.parquet.path, 'id');
    expect(back.rows).toEqual([
      ['1', '9.99', '["a"]', 'true', null, null],
      ['2', '10.00', null, 'false', '2024-05-01 12:00:00', null],
      ['3', null, null, null, '2024-05-02 12:00:00', '{"k":"v"}'],
    ]);
  });

  it('reads a gzip JSON array element by element and reports a non-object element', async () => {
    const array = `[\n {"n": 1, "s": "a,\\"b\\"]"},\n {"n": 2, "s": "}"},\n 7,\n {"n": 3, "s": null}\n]`;
    const outcome = processed(await convert(gzipSync(Buffer.from(array)), {}, 3));
    expect(outcome.summary.format).toBe('json-array');
    expect(outcome.summary.rowCount).toBe(3);
    expect(outcome.summary.malformed).toEqual({
      count: 1,
      examples: [{ line: 4, reason: 'a JSON number, not an object' }],
    });
    expect((await readParquet(outcome.parquet.path, 'n')).rows).toEqual([
      ['1', 'a,"b"]'],
      ['2', '}'],
      ['3', null],
    ]);
  });
});

describe('convertTabular on hostile input', () => {
  it('rejects an empty file, a header without rows and a gzip of nothing', async () => {
    expect(await convert('')).toEqual({ status: 'REJECTED', reason: 'The file is empty.' });
    expect(await convert('a,b,c\n')).toMatchObject({
      status: 'REJECTED',
      reason: 'The file has a header row but no data rows.',
    });
    expect(await convert(gzipSync(Buffer.alloc(0)))).toMatchObject({
      status: 'REJECTED',
      reason: 'The file is gzip data that holds nothing.',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a few ragged rows with their lines and rejects a file of mostly ragged rows', async () => {
    const few = processed(await convert('a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n'));
    expect(few.summary.rowCount).toBe(3);
    expect(few.summary.malformed).toEqual({
      count: 2,
      examples: [
        { line: 3, reason: '1 value where the header has 2' },
        { line: 5, reason: '3 values where the header has 2' },
      ],
    });
    const many = await convert('a,b\n1\n2\n3,4\n5\n');
    expect(many).toMatchObject({
      status: 'REJECTED',
      reason:
        '3 of 4 rows are malformed (line 2: 1 value where the header has 2; line 3: 1 value where the header has 2; line 5: 1 value where the header has 2).',
    });
  });

  it('loses only the row of a quote left open to the end of the file', async () => {
    const outcome = processed(await convert('a,b\n1,x\n2,"never closed\n3,y\n4,z\n', {}, 6));
    expect(outcome.summary.malformed.examples).toEqual([
      { line: 3, reason: 'a quote opened on this line is never closed' },
    ]);
    expect((await readParquet(outcome.parquet.path, 'a')).rows).toEqual([
      ['1', 'x'],
      ['3', 'y'],
      ['4', 'z'],
    ]);
  });

  it('keeps a 10 MB value whole and previews it cut short', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    const outcome = processed(await convert(`id,blob\n1,"${big}"\n2,small\n`));
    const blob = outcome.summary.columns[1];
    expect(blob).toMatchObject({ type: 'string', max: 'x'.repeat(100) });
    expect(outcome.summary.preview.rows[0]?.[1]).toBe('x'.repeat(200));
    const back = await readParquet(outcome.parquet.path, 'id');
    expect(back.rows[0]?.[1]?.length).toBe(big.length);
  });

  it('skips a line longer than the record limit instead of holding it', async () => {
    const limits = { ...DEFAULT_TABULAR_LIMITS, maxRecordChars: 1000 };
    const outcome = processed(
      await convert(`a,b\n1,x\n2,${'y'.repeat(5000)}\n3,z\n4,w\n`, { limits }, 100),
    );
    expect(outcome.summary.rowCount).toBe(3);
    expect(outcome.summary.malformed.examples).toEqual([
      { line: 3, reason: 'the line is longer than 1000 characters; it was skipped' },
    ]);
  });

  it('rejects 20,000 columns', async () => {
    const header = Array.from({ length: 20_000 }, (_, i) => `c${i}`).join(',');
    const row = Array.from({ length: 20_000 }, (_, i) => String(i)).join(',');
    expect(await convert(`${header}\n${row}\n`)).toEqual({
      status: 'REJECTED',
      reason: 'The file has 20,000 columns; at most 1,000 are accepted.',
    });
  });

  it('rejects binary data that calls itself CSV', async () => {
    const binary = Buffer.alloc(8192);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 37 + 11) & 0xff;
    expect(await convert(binary)).toEqual({
      status: 'REJECTED',
      reason: 'The file is binary data, not text (it has zero bytes or control characters).',
    });
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      binary,
    ]);
    expect(await convert(png)).toEqual({
      status: 'REJECTED',
      reason: 'The file is a PNG image, not text.',
    });
  });

  it('stops a gzip bomb at the limit without inflating the rest', async () => {
    // Sixty-four gzip members of 16 MiB each: 1 GiB inflated from about 1 MiB.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024, 'a,1\n'), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    // A low limit keeps the rows read before it small (the test ran past 30 s beside CI's other lanes).
    const limits = { ...DEFAULT_TABULAR_LIMITS, maxDecompressedBytes: 2 * 1024 * 1024 };
    const open = opener(bomb);
    expect(
      await convertTabular(open, { scratchDir: dir, outPath: join(dir, 'out.parquet'), limits }),
    ).toEqual({
      status: 'REJECTED',
      reason:
        'The gzip data inflates to more than 2.0 MiB, the limit for one file; reading stopped there.',
    });
    expect(open.bytesRead).toBeLessThan(bomb.length / 4);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects truncated gzip data with our sentence, zlib’s words kept for the log', async () => {
    const gz = gzipSync(Buffer.from('a,b\n1,2\n'.repeat(1000)));
    const outcome = await convert(gz.subarray(0, gz.length - 20));
    expect(outcome.status).toBe('REJECTED');
    if (outcome.status !== 'REJECTED') return;
    expect(outcome.reason).toBe(
      'The file starts like gzip but is not valid gzip data: it is cut short or damaged.',
    );
    expect((outcome.cause as { code?: string } | undefined)?.code).toMatch(/^Z_/);
  });
});

describe('convertTabular in a dataset', () => {
  it('adds a new column, widens integer to double, and writes the file in the dataset types', async () => {
    const first = processed(await convert('id,score\n1,10\n2,20\n'));
    expect(first.dataset).toMatchObject({ changed: true, added: ['id', 'score'] });
    const second = processed(
      await convert('id,score,label\n3,2.5e0,y\n4,7e0,x\n', {
        dataset: first.dataset.schema,
        outPath: join(dir, 'second.parquet'),
      }),
    );
    expect(second.dataset).toMatchObject({
      changed: true,
      added: ['label'],
      widened: [{ sqlName: 'score', from: 'integer', to: 'double' }],
    });
    const third = processed(
      await convert('id,score\n5,50\n', {
        dataset: second.dataset.schema,
        outPath: join(dir, 'third.parquet'),
      }),
    );
    expect(third.dataset.changed).toBe(false);
    expect(third.summary.columns[1]).toMatchObject({ type: 'integer', tableType: 'double' });
    expect((await readParquet(third.parquet.path)).types).toEqual({
      id: 'BIGINT',
      score: 'DOUBLE',
    });
    const all = await readParquet(
      [first.parquet.path, second.parquet.path, third.parquet.path],
      'id',
    );
    expect(all.rows).toEqual([
      ['1', '10.0', null],
      ['2', '20.0', null],
      ['3', '2.5', 'y'],
      ['4', '7.0', 'x'],
      ['5', '50.0', null],
    ]);
  });

  it('refuses a type change that would lose values, naming the column', async () => {
    const first = processed(await convert('id,code\n1,7\n'));
    const outcome = await convert('id,code\n2,A7\n', {
      dataset: first.dataset.schema,
      outPath: join(dir, 'b.parquet'),
    });
    expect(outcome).toEqual({
      status: 'REJECTED',
      reason:
        'The file does not fit its dataset: column "code" is string in this file but integer in the dataset.',
      malformed: { count: 0, examples: [] },
    });
  });
});
