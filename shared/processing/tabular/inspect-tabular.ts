import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_TEXT_INPUT_LIMITS,
  LateEncodingError,
  LineEnds,
  openTextInput,
  type TextEncoding,
  type TextInputLimits,
  UnreadableInputError,
} from '../text-input.ts';
import { defaultThreads, type TaskRunner, taskRunner } from '../worker-pool.ts';
import {
  type ColumnEvidence,
  type ColumnType,
  decideType,
  newEvidence,
  observeBoolean,
  observeJsonNumber,
  observeJsonString,
  sqlColumnNames,
} from './column-types.ts';
import { type BlockResult, type BlockTask, inspectCsvBlock } from './csv-blocks.ts';
import { quoteCsv } from './csv-records.ts';
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
  /** Characters of CSV text read as one block (by one worker thread). */
  readonly blockChars: number;
}

export const DEFAULT_TABULAR_LIMITS: TabularLimits = {
  ...DEFAULT_TEXT_INPUT_LIMITS,
  maxColumns: 1000,
  maxRecordChars: 16 * 1024 * 1024,
  maxMalformedShare: 0.5,
  previewRows: 20,
  previewValueChars: 200,
  malformedExamples: 10,
  blockChars: 2 * 1024 * 1024,
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
  /** The directory of this file's spill files, removed with them. */
  readonly dir: string;
  readonly paths: readonly string[];
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
  /** What a library said (zlib), for the log only. */
  readonly cause?: unknown;
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
  /** Worker threads reading CSV blocks (0: in this thread); default: the cores, up to four. */
  readonly threads?: number;
}

class TooManyColumns extends Error {
  constructor(readonly columns: number) {
    super(`${columns} columns`);
  }
}

const SPILL_FLUSH_CHARS = 1024 * 1024;
const SAMPLE_CHARS = 64 * 1024;

/** Gathers spilled lines (without their line ends) and writes them in large pieces. */
class Spill {
  private parts: string[] = [];
  private size = 0;
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
    this.parts.push(line);
    this.size += line.length;
    if (line.length > this.longest) this.longest = line.length;
  }

  async flush(force = false): Promise<void> {
    if (this.failed) throw this.failed;
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

/** What the first pass gathered, whatever the format. */
interface Gathered {
  readonly names: readonly string[] | undefined;
  readonly evidence: readonly ColumnEvidence[];
  readonly rows: number;
  readonly malformedCount: number;
  readonly examples: readonly { line: number; reason: string }[];
  readonly previewRows: readonly (readonly (string | null)[])[];
  readonly spillPaths: readonly string[];
  readonly longest: number;
}

const tooManyColumns = (columns: number, limits: TabularLimits): RejectedTable => ({
  status: 'REJECTED',
  reason: `The file has ${formatCount(columns)} columns; at most ${formatCount(limits.maxColumns)} are accepted.`,
});

/**
 * Finds where CSV text can be cut into independent blocks: after a line end with no quoted value
 * open, that is with an even number of quotes before it. Scans each character once, however
 * often it is asked while a long quoted value keeps the cut away.
 */
class BlockCutter {
  private scanned = 0;
  private quotes = 0;
  private afterQuote = 0;
  private cut = -1;

  /** The length of the longest safe prefix of `text` (ending in a line end), or -1. */
  find(text: string): number {
    for (;;) {
      const q = text.indexOf('"', this.scanned);
      const end = q < 0 ? text.length : q;
      if (this.quotes % 2 === 0) {
        const nl = text.lastIndexOf('\n', end - 1);
        if (nl >= this.afterQuote) this.cut = nl + 1;
      }
      if (q < 0) {
        this.scanned = text.length;
        return this.cut;
      }
      this.quotes++;
      this.scanned = q + 1;
      this.afterQuote = q + 1;
    }
  }

  /** The text up to the cut was taken: what is left is scanned afresh (it starts outside quotes). */
  reset(): void {
    this.scanned = 0;
    this.quotes = 0;
    this.afterQuote = 0;
    this.cut = -1;
  }
}

const readCsv = async (
  sample: string,
  iterator: AsyncIterator<string>,
  ended: boolean,
  dialect: Dialect,
  limits: TabularLimits,
  spillDir: string,
  runner: TaskRunner<BlockTask, BlockResult>,
  threads: number,
): Promise<Gathered | RejectedTable> => {
  let names: string[] | undefined;
  let width = -1;
  let header = dialect.header;
  const evidence: ColumnEvidence[] = [];
  let rows = 0;
  let malformedCount = 0;
  const examples: { line: number; reason: string }[] = [];
  const previewRows: (string | null)[][] = [];
  const spillPaths: string[] = [];
  let longest = 0;
  let blocks = 0;
  /** Blocks sent out and not yet merged, in file order, with the line they start on. */
  const inFlight: { result: Promise<BlockResult>; firstLine: number }[] = [];
  let nextFirstLine = 1;
  // Enough blocks queued to keep every worker busy, few enough to bound memory.
  const maxInFlight = Math.max(1, 2 * threads);

  const merge = (result: BlockResult, firstLine: number): RejectedTable | undefined => {
    if (width < 0 && result.width >= 0) {
      width = result.width;
      if (result.names) names = result.names.map((n, i) => n ?? `column_${i + 1}`);
      else names = Array.from({ length: width }, (_, i) => `column_${i + 1}`);
      header = false;
      if (width > limits.maxColumns) return tooManyColumns(width, limits);
      for (let c = 0; c < width; c++) evidence.push(newEvidence());
    }
    rows += result.rows;
    result.evidence.forEach((e, c) => {
      const into = evidence[c];
      if (into === undefined) return;
      into.seen |= e.seen;
      into.values += e.values;
      into.nulls += e.nulls;
      if (e.intDigits > into.intDigits) into.intDigits = e.intDigits;
      if (e.scale > into.scale) into.scale = e.scale;
    });
    malformedCount += result.malformedCount;
    for (const m of result.malformed) {
      if (examples.length < limits.malformedExamples)
        examples.push({ line: m.line + firstLine - 1, reason: m.reason });
    }
    for (const row of result.preview)
      if (previewRows.length < limits.previewRows) previewRows.push([...row]);
    if (result.spillPath !== null) spillPaths.push(result.spillPath);
    if (result.longest > longest) longest = result.longest;
    return undefined;
  };

  const settle = async (all: boolean): Promise<RejectedTable | undefined> => {
    while (inFlight.length > (all ? 0 : maxInFlight - 1)) {
      const next = inFlight.shift() as (typeof inFlight)[number];
      const rejected = merge(await next.result, next.firstLine);
      if (rejected) return rejected;
    }
    return undefined;
  };

  const dispatch = async (text: string): Promise<RejectedTable | undefined> => {
    const task: BlockTask = {
      text,
      delimiter: dialect.delimiter,
      width,
      header,
      fileHasHeader: dialect.header,
      maxRecordChars: limits.maxRecordChars,
      previewRows: previewRows.length < limits.previewRows ? limits.previewRows : 0,
      previewValueChars: limits.previewValueChars,
      malformedExamples: limits.malformedExamples,
      spillPath: join(spillDir, `rows-${String(blocks++).padStart(6, '0')}.csv`),
    };
    let breaks = 0;
    for (let k = text.indexOf('\n'); k >= 0; k = text.indexOf('\n', k + 1)) breaks++;
    const firstLine = nextFirstLine;
    nextFirstLine += breaks;
    if (width < 0) {
      // The first rows set the width every other block is checked against: read them here.
      await settle(true);
      return merge(inspectCsvBlock(task), firstLine);
    }
    inFlight.push({ result: runner.run(task), firstLine });
    return settle(false);
  };

  const cutter = new BlockCutter();
  // Chunks are gathered in a list and joined once per block: appending each chunk to one string
  // would copy the whole block again for every chunk searched.
  let pieces: string[] = [];
  let piecesLength = 0;
  const lineEnds = new LineEnds();
  let skipping = false;
  const take = async (chunk: string, final: boolean): Promise<RejectedTable | undefined> => {
    let t = lineEnds.push(chunk, final);
    if (skipping) {
      const nl = t.indexOf('\n');
      if (nl < 0) return undefined;
      skipping = false;
      nextFirstLine++;
      t = t.slice(nl + 1);
    }
    if (t.length > 0) {
      pieces.push(t);
      piecesLength += t.length;
    }
    if (piecesLength < limits.blockChars && !(final && piecesLength > 0)) return undefined;
    let pending = pieces.join('');
    pieces = [];
    piecesLength = 0;
    while (pending.length >= limits.blockChars || (final && pending.length > 0)) {
      let cut = final ? pending.length : cutter.find(pending);
      if (cut < 0) {
        if (pending.length <= limits.maxRecordChars + limits.blockChars) break;
        // A quoted value runs past the limit: cut anyway; the block's reader reports it.
        cut = pending.lastIndexOf('\n') + 1;
        if (cut === 0) {
          malformedCount++;
          if (examples.length < limits.malformedExamples)
            examples.push({
              line: nextFirstLine,
              reason: `the line is longer than ${formatCount(limits.maxRecordChars)} characters; it was skipped`,
            });
          pending = '';
          skipping = true;
          cutter.reset();
          break;
        }
      }
      const block = pending.slice(0, cut);
      pending = pending.slice(cut);
      cutter.reset();
      const rejected = await dispatch(block);
      if (rejected) return rejected;
    }
    if (pending.length > 0) {
      pieces.push(pending);
      piecesLength = pending.length;
    }
    return undefined;
  };

  try {
    let rejected = await take(sample, ended);
    if (!ended) {
      while (rejected === undefined) {
        const next = await iterator.next();
        if (next.done) {
          rejected = await take('', true);
          break;
        }
        rejected = await take(next.value, false);
      }
    }
    rejected ??= await settle(true);
    if (rejected) {
      await iterator.return?.();
      await Promise.allSettled(inFlight.map((f) => f.result));
      return rejected;
    }
  } catch (error) {
    await Promise.allSettled(inFlight.map((f) => f.result));
    throw error;
  }
  return { names, evidence, rows, malformedCount, examples, previewRows, spillPaths, longest };
};

const readJson = async (
  sample: string,
  iterator: AsyncIterator<string>,
  ended: boolean,
  dialect: Dialect,
  limits: TabularLimits,
  spillDir: string,
): Promise<Gathered | RejectedTable> => {
  const spillPath = join(spillDir, 'rows-json.csv');
  const spill = new Spill(spillPath);
  const names: string[] = [];
  const evidence: ColumnEvidence[] = [];
  let rows = 0;
  let malformedCount = 0;
  const examples: { line: number; reason: string }[] = [];
  const previewRows: (string | null)[][] = [];
  const clip = (v: string | null): string | null =>
    v !== null && v.length > limits.previewValueChars ? v.slice(0, limits.previewValueChars) : v;
  let width = 0;
  const onMalformed = (line: number, reason: string): void => {
    malformedCount++;
    if (examples.length < limits.malformedExamples) examples.push({ line, reason });
  };
  const index = new Map<string, number>();
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
          names.push(key);
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
  const reader: RecordReader =
    dialect.format === 'ndjson'
      ? new NdjsonRecordReader(recordOptions)
      : new JsonArrayRecordReader(recordOptions);
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
    if (error instanceof TooManyColumns) return tooManyColumns(error.columns, limits);
    throw error;
  }
  return {
    names,
    evidence,
    rows,
    malformedCount,
    examples,
    previewRows,
    spillPaths: rows > 0 ? [spillPath] : [],
    longest: spill.longest,
  };
};

const readOnce = async (
  open: OpenBody,
  options: InspectOptions,
  limits: TabularLimits,
  forced: { encoding: TextEncoding } | undefined,
  spillDir: string,
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
  await mkdir(spillDir, { recursive: true });
  let gathered: Gathered | RejectedTable;
  if (dialect.format === 'csv') {
    const threads = options.threads ?? defaultThreads();
    const runner = taskRunner(threads, import.meta.url, 'csv-block-worker', inspectCsvBlock);
    try {
      gathered = await readCsv(sample, iterator, ended, dialect, limits, spillDir, runner, threads);
    } finally {
      await runner.close();
    }
  } else {
    gathered = await readJson(sample, iterator, ended, dialect, limits, spillDir);
  }
  if ('status' in gathered) return gathered;
  const { names, evidence, rows, malformedCount, examples, previewRows } = gathered;

  const malformed = { count: malformedCount, examples };
  const lines = examples
    .slice(0, 3)
    .map((m) => `line ${m.line}: ${m.reason}`)
    .join('; ');
  if (names === undefined || (names.length === 0 && rows === 0)) {
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
      dir: spillDir,
      paths: gathered.spillPaths,
      delimiter: dialect.format === 'csv' ? dialect.delimiter : ',',
      ragged: dialect.format !== 'csv',
      longestRow: gathered.longest,
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
  const spillDir = join(options.scratchDir, 'tabular-spill');
  let outcome: InspectOutcome;
  try {
    try {
      outcome = await readOnce(open, options, limits, undefined, spillDir);
    } catch (error) {
      if (!(error instanceof LateEncodingError)) throw error;
      await rm(spillDir, { recursive: true, force: true });
      outcome = await readOnce(open, options, limits, { encoding: 'windows-1252' }, spillDir);
    }
  } catch (error) {
    await rm(spillDir, { recursive: true, force: true });
    if (error instanceof UnreadableInputError) {
      return {
        status: 'REJECTED',
        reason: error.message,
        ...(error.cause !== undefined && { cause: error.cause }),
      };
    }
    throw error;
  }
  if (outcome.status === 'REJECTED') await rm(spillDir, { recursive: true, force: true });
  return outcome;
};
