import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_TEXT_INPUT_LIMITS,
  decodeText,
  LateEncodingError,
  LineEnds,
  openTextInput,
  peek,
  replay,
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
import type { BlockResult } from './csv-blocks.ts';
import { type AnyBlockTask, byteDelimiter, inspectBlock } from './csv-byte-blocks.ts';
import { lineTooLong, quoteCsv } from './csv-records.ts';
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
  /**
   * Read UTF-8 CSV as bytes, decoding only what must be (default); false reads it as text, as
   * other encodings are read (tests compare the two).
   */
  readonly byteBlocks?: boolean;
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
 * Finds where CSV text can be cut into independent blocks: after a line end outside any quoted
 * value, as the block reader reads quotes. A quote opens a quoted value only at the start of a
 * value (after the delimiter or a line end), `""` inside one stands for a quote, and any other
 * quote is text, so a stray quote (`5"`) moves no cut. Scans each character once, however often
 * it is asked while a long quoted value keeps the cut away.
 */
class BlockCutter {
  private scanned = 0;
  private quoted = false;
  /** Where the text outside quotes resumed: no cut is looked for before it. */
  private outsideFrom = 0;
  private cut = -1;

  constructor(private readonly delimiter: number) {}

  /** The length of the longest safe prefix of `text` (ending in a line end), or -1. */
  find(text: string): number {
    for (;;) {
      const q = text.indexOf('"', this.scanned);
      const end = q < 0 ? text.length : q;
      if (!this.quoted) {
        const nl = text.lastIndexOf('\n', end - 1);
        if (nl >= this.outsideFrom) this.cut = nl + 1;
      }
      if (q < 0) {
        this.scanned = text.length;
        return this.cut;
      }
      if (this.quoted) {
        // A quote that may be the first of `""`: decided when the next character is here.
        if (q + 1 >= text.length) {
          this.scanned = q;
          return this.cut;
        }
        if (text.charCodeAt(q + 1) === 34) {
          this.scanned = q + 2;
          continue;
        }
        this.quoted = false;
        this.outsideFrom = q + 1;
      } else {
        const before = q === 0 ? 10 : text.charCodeAt(q - 1);
        if (before === this.delimiter || before === 10) this.quoted = true;
      }
      this.scanned = q + 1;
    }
  }

  /** The text up to the cut was taken: what is left is scanned afresh (it starts a line). */
  reset(): void {
    this.scanned = 0;
    this.quoted = false;
    this.outsideFrom = 0;
    this.cut = -1;
  }
}

const QUOTE_BYTE = 34;
const LF_BYTE = 10;
const CR_BYTE = 13;

/** The last `\n` in `b[from..to)`, or -1; never looks outside that range. */
const lastLineEnd = (b: Buffer, from: number, to: number): number => {
  if (to - from > 64) {
    const at = b.subarray(from, to).lastIndexOf(LF_BYTE);
    return at < 0 ? -1 : from + at;
  }
  for (let i = to - 1; i >= from; i--) if (b[i] === LF_BYTE) return i;
  return -1;
};

/**
 * Gathers UTF-8 bytes into blocks of whole lines cut where no quoted value is open, as
 * {@link BlockCutter} does for text: each piece is scanned once as it arrives (quotes found with
 * `indexOf`), and the bytes are joined once, when a block is taken.
 */
class ByteBlocks {
  private pieces: Buffer[] = [];
  length = 0;
  private quoted = false;
  /** The last piece ended on a quote inside a quoted value (maybe the first of `""`). */
  private quoteEnds = false;
  /** The byte before the next piece (a line end before the first). */
  private lastByte = LF_BYTE;
  /** Offsets (into the bytes held) just after the last safe line end, and after any line end. */
  private safeCut = -1;
  private anyCut = -1;

  constructor(private readonly delimiter: number) {}

  push(piece: Buffer): void {
    this.scan(piece, this.length);
    this.pieces.push(piece);
    this.length += piece.length;
  }

  /** The held bytes up to the last safe cut, or (`force`) the last line end, or undefined. */
  take(force: boolean): Uint8Array | undefined {
    const cut = force ? this.anyCut : this.safeCut;
    if (cut <= 0) return undefined;
    // A block of its own memory, handed to the worker thread whole (never a slice of Node.js's
    // shared pool of small buffers, which a transfer would take from every other user): the
    // pieces are copied into it once, and what follows the cut stays where it is.
    const block = new Uint8Array(cut);
    let at = 0;
    let k = 0;
    for (; k < this.pieces.length && at < cut; k++) {
      const piece = this.pieces[k] as Buffer;
      const used = Math.min(piece.length, cut - at);
      block.set(used === piece.length ? piece : piece.subarray(0, used), at);
      at += used;
      if (used < piece.length) {
        this.pieces[k] = piece.subarray(used);
        break;
      }
    }
    this.pieces = this.pieces.slice(k);
    this.length -= cut;
    this.safeCut = -1;
    this.anyCut = -1;
    if (force) {
      // What is left is scanned afresh: it starts a line, outside quotes.
      this.quoted = false;
      this.quoteEnds = false;
      this.lastByte = LF_BYTE;
      let base = 0;
      for (const piece of this.pieces) {
        this.scan(piece, base);
        base += piece.length;
      }
    }
    return block;
  }

  /** Everything held (the end of the input). */
  rest(): Uint8Array {
    // Its own memory, never a slice of Node.js's shared pool of small buffers.
    const block = new Uint8Array(this.length);
    let at = 0;
    for (const piece of this.pieces) {
      block.set(piece, at);
      at += piece.length;
    }
    this.pieces = [];
    this.length = 0;
    return block;
  }

  /** Drops everything held (a line too long, skipped). */
  clear(): void {
    this.pieces = [];
    this.length = 0;
    this.quoted = false;
    this.quoteEnds = false;
    this.lastByte = LF_BYTE;
    this.safeCut = -1;
    this.anyCut = -1;
  }

  private scan(piece: Buffer, base: number): void {
    let i = 0;
    if (this.quoteEnds && piece.length > 0) {
      // The last piece ended on a quote inside a quoted value: `""`, or its end.
      this.quoteEnds = false;
      if (piece[0] === QUOTE_BYTE) i = 1;
      else this.quoted = false;
    }
    for (;;) {
      const q = piece.indexOf(QUOTE_BYTE, i);
      const end = q < 0 ? piece.length : q;
      const nl = lastLineEnd(piece, i, end);
      if (nl >= 0) {
        this.anyCut = base + nl + 1;
        if (!this.quoted) this.safeCut = base + nl + 1;
      }
      if (q < 0) break;
      i = q + 1;
      if (this.quoted) {
        if (q + 1 >= piece.length) {
          this.quoteEnds = true;
          break;
        }
        if (piece[q + 1] === QUOTE_BYTE) i = q + 2;
        else this.quoted = false;
      } else {
        const before = q === 0 ? this.lastByte : piece[q - 1];
        // After a lone `\r` too: the text reader makes it a line end.
        if (before === this.delimiter || before === LF_BYTE || before === CR_BYTE)
          this.quoted = true;
      }
    }
    if (piece.length > 0) this.lastByte = piece[piece.length - 1] as number;
  }
}

/**
 * The first pass's CSV reading: blocks (text or bytes) read in order, on worker threads past the
 * first, merged as they come back, with line numbers counted from each block's line ends.
 */
class CsvGatherer {
  private names: string[] | undefined;
  private width = -1;
  private header: boolean;
  private readonly evidence: ColumnEvidence[] = [];
  private rows = 0;
  private malformedCount = 0;
  private readonly examples: { line: number; reason: string }[] = [];
  private readonly previewRows: (string | null)[][] = [];
  private readonly spillPaths: string[] = [];
  private longest = 0;
  private blocks = 0;
  /** Blocks sent out and not yet merged, in file order. */
  private readonly inFlight: Promise<BlockResult>[] = [];
  private nextFirstLine = 1;
  /** Enough blocks queued to keep every worker busy, few enough to bound memory. */
  private readonly maxInFlight: number;

  constructor(
    private readonly dialect: Dialect,
    private readonly limits: TabularLimits,
    private readonly spillDir: string,
    private readonly runner: TaskRunner<AnyBlockTask, BlockResult>,
    threads: number,
  ) {
    this.header = dialect.header;
    this.maxInFlight = Math.max(1, 2 * threads);
  }

  /** The delimiter, whose place tells a quote that opens a value from a quote inside one. */
  get delimiterCode(): number {
    return this.dialect.delimiter.charCodeAt(0);
  }

  /** Reads a block: the first in this thread (its first row sets the width), others on workers. */
  async dispatch(block: string | Uint8Array): Promise<RejectedTable | undefined> {
    const base = {
      delimiter: this.dialect.delimiter,
      width: this.width,
      header: this.header,
      fileHasHeader: this.dialect.header,
      maxRecordChars: this.limits.maxRecordChars,
      previewRows: this.previewRows.length < this.limits.previewRows ? this.limits.previewRows : 0,
      previewValueChars: this.limits.previewValueChars,
      malformedExamples: this.limits.malformedExamples,
      spillPath: join(this.spillDir, `rows-${String(this.blocks++).padStart(6, '0')}.csv`),
    };
    const task: AnyBlockTask =
      typeof block === 'string' ? { ...base, text: block } : { ...base, bytes: block };
    if (this.width < 0) {
      await this.settle(true);
      return this.merge(inspectBlock(task));
    }
    this.inFlight.push(
      this.runner.run(task, typeof block === 'string' ? [] : [block.buffer as ArrayBuffer]),
    );
    return this.settle(false);
  }

  /** A line too long to hold was dropped where it was read; it is reported in its place. */
  skippedLongLine(): void {
    this.inFlight.push(
      Promise.resolve({
        width: -1,
        rows: 0,
        evidence: [],
        malformedCount: 1,
        malformed: [{ line: 1, reason: lineTooLong(this.limits.maxRecordChars) }],
        preview: [],
        longest: 0,
        lineBreaks: 1,
        spillPath: null,
      }),
    );
  }

  async finish(): Promise<Gathered | RejectedTable> {
    const rejected = await this.settle(true);
    if (rejected) return rejected;
    return {
      names: this.names,
      evidence: this.evidence,
      rows: this.rows,
      malformedCount: this.malformedCount,
      examples: this.examples,
      previewRows: this.previewRows,
      spillPaths: this.spillPaths,
      longest: this.longest,
    };
  }

  /** Waits for the blocks still out (after a failure), so no worker writes after the clean-up. */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }

  private merge(result: BlockResult): RejectedTable | undefined {
    const firstLine = this.nextFirstLine;
    this.nextFirstLine += result.lineBreaks;
    if (this.width < 0 && result.width >= 0) {
      this.width = result.width;
      this.names = result.names
        ? result.names.map((n, i) => n ?? `column_${i + 1}`)
        : Array.from({ length: this.width }, (_, i) => `column_${i + 1}`);
      this.header = false;
      if (this.width > this.limits.maxColumns) return tooManyColumns(this.width, this.limits);
      for (let c = 0; c < this.width; c++) this.evidence.push(newEvidence());
    }
    this.rows += result.rows;
    result.evidence.forEach((e, c) => {
      const into = this.evidence[c];
      if (into === undefined) return;
      into.seen |= e.seen;
      into.values += e.values;
      into.nulls += e.nulls;
      if (e.intDigits > into.intDigits) into.intDigits = e.intDigits;
      if (e.scale > into.scale) into.scale = e.scale;
    });
    this.malformedCount += result.malformedCount;
    for (const m of result.malformed) {
      if (this.examples.length < this.limits.malformedExamples)
        this.examples.push({ line: m.line + firstLine - 1, reason: m.reason });
    }
    for (const row of result.preview)
      if (this.previewRows.length < this.limits.previewRows) this.previewRows.push([...row]);
    if (result.spillPath !== null) this.spillPaths.push(result.spillPath);
    if (result.longest > this.longest) this.longest = result.longest;
    return undefined;
  }

  private async settle(all: boolean): Promise<RejectedTable | undefined> {
    while (this.inFlight.length > (all ? 0 : this.maxInFlight - 1)) {
      const next = this.inFlight.shift() as Promise<BlockResult>;
      const rejected = this.merge(await next);
      if (rejected) return rejected;
    }
    return undefined;
  }
}

/**
 * Hands `take` the sample and then every chunk, until it rejects the file or the input ends
 * (then `end`, for what is still held); the gatherer's result unless rejected.
 */
const feed = async <T>(
  sample: T,
  iterator: AsyncIterator<T>,
  ended: boolean,
  take: (chunk: T) => Promise<RejectedTable | undefined>,
  end: () => Promise<RejectedTable | undefined>,
  gatherer: CsvGatherer,
): Promise<Gathered | RejectedTable> => {
  let rejected = await take(sample);
  while (rejected === undefined && !ended) {
    const next = await iterator.next();
    if (next.done) break;
    rejected = await take(next.value);
  }
  rejected ??= await end();
  if (rejected) {
    await iterator.return?.();
    return rejected;
  }
  return gatherer.finish();
};

/** Reads decoded CSV text: line ends made `\n`, cut into blocks by {@link BlockCutter}. */
const readCsvText = async (
  sample: string,
  iterator: AsyncIterator<string>,
  ended: boolean,
  limits: TabularLimits,
  gatherer: CsvGatherer,
): Promise<Gathered | RejectedTable> => {
  const cutter = new BlockCutter(gatherer.delimiterCode);
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
          gatherer.skippedLongLine();
          pending = '';
          skipping = true;
          cutter.reset();
          break;
        }
      }
      const block = pending.slice(0, cut);
      pending = pending.slice(cut);
      cutter.reset();
      const rejected = await gatherer.dispatch(block);
      if (rejected) return rejected;
    }
    if (pending.length > 0) {
      pieces.push(pending);
      piecesLength = pending.length;
    }
    return undefined;
  };
  return feed(
    sample,
    iterator,
    ended,
    (chunk) => take(chunk, false),
    () => take('', true),
    gatherer,
  );
};

/**
 * Reads UTF-8 CSV as bytes: cut into blocks by {@link ByteBlocks}, each checked to be UTF-8 (or
 * the file is read again as windows-1252) and handed to a worker thread without being decoded
 * or copied here. A line not ended within `4 × maxRecordChars` bytes (at least that many
 * characters) is skipped, as the text reader skips one past `maxRecordChars` characters.
 */
const readCsvBytes = async (
  sample: Buffer,
  iterator: AsyncIterator<Buffer>,
  ended: boolean,
  limits: TabularLimits,
  gatherer: CsvGatherer,
): Promise<Gathered | RejectedTable> => {
  const blocks = new ByteBlocks(gatherer.delimiterCode);
  const maxHeld = 4 * limits.maxRecordChars + limits.blockChars;
  let skipping = false;
  const send = async (block: Uint8Array): Promise<RejectedTable | undefined> => {
    if (!isUtf8(block)) throw new LateEncodingError();
    return gatherer.dispatch(block);
  };
  const take = async (chunk: Buffer): Promise<RejectedTable | undefined> => {
    // Pieces no larger than a block, so one large chunk still makes blocks of about that size.
    for (let at = 0; at < chunk.length; at += limits.blockChars) {
      let piece = chunk.subarray(at, at + limits.blockChars);
      if (skipping) {
        const nl = piece.indexOf(LF_BYTE);
        if (nl < 0) continue;
        skipping = false;
        piece = piece.subarray(nl + 1);
      }
      blocks.push(piece);
      while (blocks.length >= limits.blockChars) {
        let block = blocks.take(false);
        if (block === undefined) {
          if (blocks.length <= maxHeld) break;
          // A quoted value runs past the limit: cut anyway; the block's reader reports it.
          block = blocks.take(true);
          if (block === undefined) {
            gatherer.skippedLongLine();
            blocks.clear();
            skipping = true;
            break;
          }
        }
        const rejected = await send(block);
        if (rejected) return rejected;
      }
    }
    return undefined;
  };
  return feed(
    sample,
    iterator,
    ended,
    take,
    async () => (blocks.length > 0 && !skipping ? send(blocks.rest()) : undefined),
    gatherer,
  );
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

/**
 * CSV that {@link readCsvBytes} can cut: a one-character ASCII delimiter other than a quote or a
 * line end, and lines ended by `\n` (or `\r\n`), not by a lone `\r` (those files are read as
 * text, whose reader makes every line end `\n` before cutting).
 */
const readableAsBytes = (dialect: Dialect, sample: string, ended: boolean): boolean => {
  if (byteDelimiter(dialect.delimiter) === undefined) return false;
  const loneCr = sample.search(/\r(?!\n)/);
  return loneCr < 0 || (loneCr === sample.length - 1 && !ended);
};

const readOnce = async (
  open: OpenBody,
  options: InspectOptions,
  limits: TabularLimits,
  forced: { encoding: TextEncoding } | undefined,
  spillDir: string,
): Promise<InspectOutcome> => {
  const input = await openTextInput(await open(), limits, forced);
  await mkdir(spillDir, { recursive: true });
  const threads = options.threads ?? defaultThreads();
  const readCsv = async (
    dialect: Dialect,
    read: (gatherer: CsvGatherer) => Promise<Gathered | RejectedTable>,
  ): Promise<Gathered | RejectedTable> => {
    const runner = taskRunner(threads, import.meta.url, 'csv-block-worker', inspectBlock);
    const gatherer = new CsvGatherer(dialect, limits, spillDir, runner, threads);
    try {
      return await read(gatherer);
    } finally {
      // After a rejection or a failure too: no worker may still write when the spill is removed.
      await gatherer.abandon();
      await runner.close();
    }
  };
  /** Reads text from its start: the sample for the dialect, then the rows. */
  const readText = async (
    text: AsyncIterator<string>,
  ): Promise<{ dialect: Dialect; gathered: Gathered | RejectedTable }> => {
    let sample = '';
    let ended = false;
    while (sample.length < SAMPLE_CHARS) {
      const next = await text.next();
      if (next.done) {
        ended = true;
        break;
      }
      sample += next.value;
    }
    const dialect = detectDialect(sample, ended, options.dialect);
    return {
      dialect,
      gathered:
        dialect.format === 'csv'
          ? await readCsv(dialect, (gatherer) => readCsvText(sample, text, ended, limits, gatherer))
          : await readJson(sample, text, ended, dialect, limits, spillDir),
    };
  };
  /** UTF-8: the sample is decoded to find the dialect, and CSV is then read as bytes. */
  const readBytes = async (
    utf8: AsyncIterable<Buffer>,
  ): Promise<{ dialect: Dialect; gathered: Gathered | RejectedTable }> => {
    const bytes = utf8[Symbol.asyncIterator]();
    const head = await peek(bytes, SAMPLE_CHARS);
    let sample: string;
    try {
      sample = new TextDecoder('utf-8', { fatal: true }).decode(head.head, { stream: !head.done });
    } catch {
      throw new LateEncodingError();
    }
    const dialect = detectDialect(sample, head.done, options.dialect);
    if (dialect.format === 'csv' && readableAsBytes(dialect, sample, head.done)) {
      return {
        dialect,
        gathered: await readCsv(dialect, (gatherer) =>
          readCsvBytes(head.head, bytes, head.done, limits, gatherer),
        ),
      };
    }
    // Read as text after all, from the start of the bytes.
    return readText(
      decodeText(replay(head.head, head.done, bytes), 'utf-8', 0)[Symbol.asyncIterator](),
    );
  };
  const { dialect, gathered } =
    input.utf8Bytes !== undefined && options.byteBlocks !== false
      ? await readBytes(input.utf8Bytes)
      : await readText(input.text[Symbol.asyncIterator]());
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
