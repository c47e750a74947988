import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_TEXT_INPUT_LIMITS,
  LateEncodingError,
  openTextInput,
  type TextEncoding,
  type TextInputLimits,
  UnreadableInputError,
} from '../text-input.ts';
import {
  type ColumnEvidence,
  type ColumnType,
  decideType,
  newEvidence,
  observe,
  observeBoolean,
  observeJsonNumber,
  observeJsonString,
  observeRange,
  sqlColumnNames,
} from './column-types.ts';
import { CsvRecordReader, isNullRange, plainFields, quoteCsv } from './csv-records.ts';
import { type Dialect, detectDialect } from './dialect.ts';
import { JsonArrayRecordReader, NdjsonRecordReader, type RecordReader } from './json-records.ts';

export interface TabularLimits extends TextInputLimits {
  /** Widest table accepted. */
  readonly maxColumns: number;
  /** Longest record (row, line or array element) in characters; longer ones are malformed. */
  readonly maxRecordChars: number;
  /** Above this share of malformed rows the file is rejected. */
  readonly maxMalformedShare: number;
  readonly previewRows: number;
  readonly previewValueChars: number;
  /** Malformed rows described by line number and reason (all are counted). */
  readonly malformedExamples: number;
}

export const DEFAULT_TABULAR_LIMITS: TabularLimits = {
  ...DEFAULT_TEXT_INPUT_LIMITS,
  maxColumns: 1000,
  maxRecordChars: 16 * 1024 * 1024,
  maxMalformedShare: 0.5,
  previewRows: 20,
  previewValueChars: 200,
  malformedExamples: 10,
};

/** One column as the whole file shows it. */
export interface ColumnSchema {
  /** As written in the file's header (or key, or `column_N` without a header). */
  readonly name: string;
  /** The name in Parquet, Glue and SQL. */
  readonly sqlName: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly nullCount: number;
}

export interface MalformedRows {
  readonly count: number;
  readonly examples: readonly { readonly line: number; readonly reason: string }[];
}

/** The file's first rows, values typed as JSON (decimals and long integers as strings). */
export interface Preview {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number | boolean | null)[])[];
}

interface Described {
  readonly compression: 'gzip' | 'none';
  readonly encoding: TextEncoding;
  readonly byteOrderMark: boolean;
  readonly storedBytes: number;
  readonly decodedBytes: number;
}

/** The good rows of a file, normalised into a spill file for the Parquet pass. */
export interface SpilledRows {
  readonly path: string;
  readonly delimiter: string;
  /** Rows may end early (JSON objects without a later-found key): pad them with nulls. */
  readonly ragged: boolean;
  /** Longest row in characters. */
  readonly longestRow: number;
}

export interface InspectedTable extends Described {
  readonly status: 'INSPECTED';
  readonly dialect: Dialect;
  readonly rowCount: number;
  readonly columns: readonly ColumnSchema[];
  readonly malformed: MalformedRows;
  readonly preview: Preview;
  readonly spill: SpilledRows;
}

export interface RejectedTable {
  readonly status: 'REJECTED';
  readonly reason: string;
  readonly malformed?: MalformedRows;
}

export type InspectOutcome = InspectedTable | RejectedTable;

/** Opens the object's body from its start; called again when the first read must be redone. */
export type OpenBody = () => Promise<AsyncIterable<Uint8Array>>;

export interface InspectOptions {
  /** A directory of this invocation's own (in Lambda, under /tmp) for the spill file. */
  readonly scratchDir: string;
  readonly limits?: TabularLimits;
  /** What the uploader said about the dialect; wins over detection. */
  readonly dialect?: Partial<Dialect>;
}

class TooManyColumns extends Error {
  constructor(readonly columns: number) {
    super(`${columns} columns`);
  }
}

const SPILL_FLUSH_CHARS = 1024 * 1024;
const SAMPLE_CHARS = 64 * 1024;

/**
 * Gathers spilled lines (without their line ends) and writes them in large pieces, waiting when
 * the disk is behind. Consecutive plain lines of one text are kept as one slice of it.
 */
class Spill {
  private parts: string[] = [];
  private size = 0;
  private runText = '';
  private runStart = 0;
  private runEnd = -2;
  /** Longest line spilled, in characters. */
  longest = 0;
  private readonly out: WriteStream;
  private failed: Error | undefined;

  constructor(readonly path: string) {
    // A deep buffer lets the disk write while the next chunk is parsed.
    this.out = createWriteStream(path, { highWaterMark: 16 * 1024 * 1024 });
    this.out.on('error', (error) => {
      this.failed = error;
    });
  }

  add(line: string): void {
    if (this.runEnd >= 0) this.closeRun();
    this.parts.push(line);
    this.size += line.length;
    if (line.length > this.longest) this.longest = line.length;
  }

  addSlice(text: string, from: number, to: number): void {
    if (to - from > this.longest) this.longest = to - from;
    if (this.runText === text && this.runEnd + 1 === from) {
      this.runEnd = to;
      return;
    }
    if (this.runEnd >= 0) this.closeRun();
    this.runText = text;
    this.runStart = from;
    this.runEnd = to;
  }

  private closeRun(): void {
    this.parts.push(this.runText.slice(this.runStart, this.runEnd));
    this.size += this.runEnd - this.runStart;
    this.runText = '';
    this.runEnd = -2;
  }

  async flush(force = false): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.runEnd >= 0) this.closeRun();
    if (this.size < SPILL_FLUSH_CHARS && !force) return;
    if (this.size === 0) return;
    const text = `${this.parts.join('\n')}\n`;
    this.parts = [];
    this.size = 0;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush(true);
    this.out.end();
    await once(this.out, 'close');
    if (this.failed) throw this.failed;
  }

  destroy(): void {
    this.out.destroy();
  }
}

const formatCount = (n: number): string => n.toLocaleString('en-US');

const typedPreviewValue = (
  value: string | null,
  type: ColumnType,
): string | number | boolean | null => {
  if (value === null) return null;
  switch (type.kind) {
    case 'boolean':
      return value.toLowerCase() === 'true';
    case 'integer': {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    case 'double':
      return Number(value);
    default:
      return value;
  }
};

const jsonValueText = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number')
    return Number.isInteger(value) && Math.abs(value) < 1e21 ? value.toFixed(0) : String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
};

const readOnce = async (
  open: OpenBody,
  options: InspectOptions,
  limits: TabularLimits,
  forced: { encoding: TextEncoding } | undefined,
  spillPath: string,
): Promise<InspectOutcome> => {
  const input = await openTextInput(await open(), limits, forced);
  const iterator = input.text[Symbol.asyncIterator]();
  let sample = '';
  let ended = false;
  while (sample.length < SAMPLE_CHARS) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    sample += next.value;
  }
  const dialect = detectDialect(sample, ended, options.dialect);

  const spill = new Spill(spillPath);
  let names: string[] | undefined;
  const evidence: ColumnEvidence[] = [];
  let rows = 0;
  let malformedCount = 0;
  const examples: { line: number; reason: string }[] = [];
  const previewRows: (string | null)[][] = [];
  const clip = (v: string | null): string | null =>
    v !== null && v.length > limits.previewValueChars ? v.slice(0, limits.previewValueChars) : v;
  let sawHeader = false;
  let width = 0;

  const onMalformed = (line: number, reason: string): void => {
    malformedCount++;
    if (examples.length < limits.malformedExamples) examples.push({ line, reason });
  };
  const startColumns = (columnNames: string[]): void => {
    if (columnNames.length > limits.maxColumns) throw new TooManyColumns(columnNames.length);
    names = columnNames;
    width = columnNames.length;
    for (let c = 0; c < width; c++) evidence.push(newEvidence());
  };

  let reader: RecordReader;
  if (dialect.format === 'csv') {
    const delimiter = dialect.delimiter;
    const checkWidth = (count: number, line: number): boolean => {
      if (count === width) return true;
      onMalformed(
        line,
        `${count} value${count === 1 ? '' : 's'} where ${dialect.header ? 'the header has' : 'the first row has'} ${width}`,
      );
      return false;
    };
    const takeRow = (fields: (string | null)[], line: number): boolean => {
      if (names === undefined) {
        if (dialect.header && !sawHeader) {
          sawHeader = true;
          startColumns(fields.map((f, i) => f ?? `column_${i + 1}`));
          return false;
        }
        startColumns(fields.map((_, i) => `column_${i + 1}`));
      }
      return checkWidth(fields.length, line);
    };
    reader = new CsvRecordReader(
      { delimiter, maxRecordChars: limits.maxRecordChars },
      {
        malformed: onMalformed,
        plain: (text, from, to, starts, ends, count, line) => {
          if (names === undefined) {
            if (!takeRow(plainFields(text, starts, ends, count), line)) return;
          } else if (!checkWidth(count, line)) {
            return;
          }
          rows++;
          for (let c = 0; c < width; c++) {
            const a = starts[c] as number;
            const b = ends[c] as number;
            if (!isNullRange(text, a, b)) observeRange(evidence[c] as ColumnEvidence, text, a, b);
          }
          if (previewRows.length < limits.previewRows)
            previewRows.push(plainFields(text, starts, ends, count).map(clip));
          spill.addSlice(text, from, to);
        },
        quoted: (fields, line) => {
          if (!takeRow(fields, line)) return;
          rows++;
          for (let c = 0; c < width; c++) {
            const v = fields[c] as string | null;
            if (v !== null) observe(evidence[c] as ColumnEvidence, v);
          }
          if (previewRows.length < limits.previewRows) previewRows.push(fields.map(clip));
          spill.add(fields.map(quoteCsv).join(delimiter));
        },
      },
    );
  } else {
    const index = new Map<string, number>();
    names = [];
    const recordOptions = {
      maxRecordChars: limits.maxRecordChars,
      onMalformed,
      onRecord: (record: Record<string, unknown>) => {
        const texts: (string | null)[] = new Array(width).fill(null);
        for (const key in record) {
          let c = index.get(key);
          if (c === undefined) {
            if (width + 1 > limits.maxColumns) throw new TooManyColumns(width + 1);
            c = width++;
            index.set(key, c);
            (names as string[]).push(key);
            evidence.push(newEvidence());
            texts.push(null);
          }
          const value = record[key];
          const e = evidence[c] as ColumnEvidence;
          if (value === null || value === undefined) continue;
          if (typeof value === 'boolean') observeBoolean(e);
          else if (typeof value === 'number') observeJsonNumber(e, value);
          else if (typeof value === 'string') observeJsonString(e, value);
          else observeJsonString(e, JSON.stringify(value));
          texts[c] = jsonValueText(value);
        }
        rows++;
        if (previewRows.length < limits.previewRows) previewRows.push(texts.map(clip));
        let line = '';
        for (let c = 0; c < texts.length; c++) {
          if (c > 0) line += ',';
          const t = texts[c] as string | null;
          if (t !== null) line += quoteCsv(t);
        }
        spill.add(line);
      },
    };
    reader =
      dialect.format === 'ndjson'
        ? new NdjsonRecordReader(recordOptions)
        : new JsonArrayRecordReader(recordOptions);
  }

  try {
    reader.push(sample);
    await spill.flush();
    if (!ended) {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        reader.push(next.value);
        await spill.flush();
      }
    }
    reader.end();
    await spill.close();
  } catch (error) {
    spill.destroy();
    await iterator.return?.();
    if (error instanceof TooManyColumns) {
      return {
        status: 'REJECTED',
        reason: `The file has ${formatCount(error.columns)} columns; at most ${formatCount(limits.maxColumns)} are accepted.`,
      };
    }
    throw error;
  }

  const malformed = { count: malformedCount, examples };
  const lines = examples
    .slice(0, 3)
    .map((m) => `line ${m.line}: ${m.reason}`)
    .join('; ');
  if (names === undefined || (width === 0 && rows === 0)) {
    return malformedCount > 0
      ? { status: 'REJECTED', reason: `No row of the file could be read (${lines}).`, malformed }
      : { status: 'REJECTED', reason: 'The file has no rows.', malformed };
  }
  if (rows === 0) {
    return {
      status: 'REJECTED',
      reason:
        malformedCount > 0
          ? `No row of the file could be read (${lines}).`
          : 'The file has a header row but no data rows.',
      malformed,
    };
  }
  if (malformedCount / (rows + malformedCount) > limits.maxMalformedShare) {
    return {
      status: 'REJECTED',
      reason: `${formatCount(malformedCount)} of ${formatCount(rows + malformedCount)} rows are malformed (${lines}).`,
      malformed,
    };
  }
  const sqlNames = sqlColumnNames(names);
  const columns: ColumnSchema[] = names.map((name, c) => {
    const e = evidence[c] as ColumnEvidence;
    const nullCount = rows - e.values;
    return {
      name,
      sqlName: sqlNames[c] as string,
      type: decideType(e),
      nullable: nullCount > 0,
      nullCount,
    };
  });
  return {
    status: 'INSPECTED',
    compression: input.compression,
    encoding: input.encoding,
    byteOrderMark: input.byteOrderMark,
    storedBytes: input.storedBytes(),
    decodedBytes: input.decodedBytes(),
    dialect,
    rowCount: rows,
    columns,
    malformed,
    preview: {
      columns: sqlNames,
      rows: previewRows.map((row) =>
        columns.map((column, c) => typedPreviewValue(row[c] ?? null, column.type)),
      ),
    },
    spill: {
      path: spillPath,
      delimiter: dialect.format === 'csv' ? dialect.delimiter : ',',
      ragged: dialect.format !== 'csv',
      longestRow: spill.longest,
    },
  };
};

/**
 * The first pass over a tabular file (CSV, TSV, NDJSON, a JSON array; each maybe gzip): detects
 * its encoding and dialect, reads every row, infers each column's type, nullability and null
 * count from the whole file, counts malformed rows (with the first few line numbers and why), keeps
 * a bounded preview, and writes the good rows to a spill file in `scratchDir` for
 * {@link writeTabularParquet}. Memory stays bounded by `maxRecordChars` whatever the file's size.
 *
 * `open` is called once, or a second time when bytes that are not UTF-8 turn up after the sample
 * the encoding was chosen from (the file is then read again as windows-1252).
 * A file that is not tabular text, too wide, empty or mostly malformed is `REJECTED` with a reason;
 * errors a retry could mend (the body's stream failing, a full disk) are thrown.
 */
export const inspectTabular = async (
  open: OpenBody,
  options: InspectOptions,
): Promise<InspectOutcome> => {
  const limits = options.limits ?? DEFAULT_TABULAR_LIMITS;
  const spillPath = join(options.scratchDir, 'rows.csv');
  let outcome: InspectOutcome;
  try {
    try {
      outcome = await readOnce(open, options, limits, undefined, spillPath);
    } catch (error) {
      if (!(error instanceof LateEncodingError)) throw error;
      await rm(spillPath, { force: true });
      outcome = await readOnce(open, options, limits, { encoding: 'windows-1252' }, spillPath);
    }
  } catch (error) {
    await rm(spillPath, { force: true });
    if (error instanceof UnreadableInputError) return { status: 'REJECTED', reason: error.message };
    throw error;
  }
  if (outcome.status === 'REJECTED') await rm(spillPath, { force: true });
  return outcome;
};
