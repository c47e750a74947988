import { closeSync, openSync, writevSync } from 'node:fs';
import { type ColumnEvidence, newEvidence, observeBytes, TEXT_SEEN } from './column-types.ts';
import { type BlockResult, type BlockTask, inspectCsvBlock } from './csv-blocks.ts';

/**
 * A block of a UTF-8 CSV file as its bytes: whole lines (the last one may end the file without a
 * line end), cut where no quoted value is open, checked to be UTF-8. Sent to a worker thread by
 * transfer, so the main thread neither decodes nor copies it.
 */
export interface ByteBlockTask extends Omit<BlockTask, 'text'> {
  readonly bytes: Uint8Array;
}

export type AnyBlockTask = BlockTask | ByteBlockTask;

const QUOTE = 34;
const LF = 10;
const CR = 13;
const BACKSLASH = 92;

const LINE_END = new Uint8Array([LF]);
/** Most pieces one `writev` takes (IOV_MAX on Linux). */
const MAX_PIECES = 1024;

/** `NULL`, `null` or `\N`, unquoted: the null markers of {@link NULL_MARKERS}, as bytes. */
const isNullBytes = (b: Uint8Array, a: number, end: number): boolean => {
  const n = end - a;
  if (n === 0) return true;
  if (n === 2) return b[a] === BACKSLASH && b[a + 1] === 78;
  if (n !== 4) return false;
  const c = b[a];
  if (c === 78) return b[a + 1] === 85 && b[a + 2] === 76 && b[a + 3] === 76;
  if (c === 110) return b[a + 1] === 117 && b[a + 2] === 108 && b[a + 3] === 108;
  return false;
};

/**
 * The spill file of a block, written as slices of the block's own bytes: a run of good rows
 * ending in `\n` is one slice; a row that ended in `\r\n` is its bytes and a `\n` (DuckDB reads
 * one kind of line end per file).
 */
class ByteSpill {
  private pieces: Uint8Array[] = [];
  private fd = -1;
  written = false;

  constructor(private readonly path: string) {}

  add(piece: Uint8Array): void {
    this.pieces.push(piece);
    if (this.pieces.length >= MAX_PIECES) this.flush();
  }

  flush(): void {
    if (this.pieces.length === 0) return;
    if (this.fd < 0) this.fd = openSync(this.path, 'w');
    let pieces = this.pieces;
    this.pieces = [];
    // writev may write less than asked; the rest goes again.
    while (pieces.length > 0) {
      let n = writevSync(this.fd, pieces);
      this.written = true;
      let k = 0;
      while (k < pieces.length && n >= (pieces[k] as Uint8Array).length) {
        n -= (pieces[k] as Uint8Array).length;
        k++;
      }
      pieces = pieces.slice(k);
      if (n > 0 && pieces.length > 0) pieces[0] = (pieces[0] as Uint8Array).subarray(n);
    }
  }

  close(): void {
    try {
      this.flush();
    } finally {
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * The delimiter as the one byte the bytes reader looks for: a single ASCII character other than
 * a quote or a line end; undefined for any other (that CSV is read as text).
 */
export const byteDelimiter = (delimiter: string): number | undefined => {
  const d = delimiter.charCodeAt(0);
  return delimiter.length === 1 && d <= 127 && d !== QUOTE && d !== LF && d !== CR ? d : undefined;
};

/**
 * Reads a block of bytes without decoding it, when every line is simple: each value either
 * unquoted without a quote, or wholly quoted on its line (`""` for a quote, the delimiter or the
 * line end right after the closing quote), lines ended by `\n` or `\r\n`, none longer than
 * `maxRecordChars` bytes. The result is the one {@link inspectCsvBlock} gives for the same text:
 * the same type evidence (the classifier reads bytes; a byte past ASCII can only be text), the
 * same rows, malformed rows (wrong width) and line numbers. Returns undefined for a block it does
 * not read this way (a value over several lines, a stray quote, a lone `\r`, a very long line, the
 * first block or one that must add to the preview); {@link inspectBlock} then decodes it.
 */
export const inspectCsvBytes = (task: ByteBlockTask): BlockResult | undefined => {
  const width = task.width;
  if (width < 0 || task.header || task.previewRows > 0) return undefined;
  const delimiter = byteDelimiter(task.delimiter);
  if (delimiter === undefined) return undefined;
  const b = task.bytes;
  const n = b.length;
  // The bytes that end an unquoted value's scan: one table look-up for the few bytes that could.
  const stops = new Uint8Array(256);
  stops[delimiter] = 1;
  stops[LF] = 1;
  stops[QUOTE] = 1;
  stops[CR] = 1;
  const highestStop = Math.max(delimiter, QUOTE);
  const max = task.maxRecordChars;
  const evidence: ColumnEvidence[] = Array.from({ length: width }, newEvidence);
  const starts = new Int32Array(width);
  const ends = new Int32Array(width);
  const quoted = new Uint8Array(width);
  let rows = 0;
  let malformedCount = 0;
  const malformed: { line: number; reason: string }[] = [];
  let longest = 0;
  let line = 1;
  const spill = new ByteSpill(task.spillPath);
  // A run of good rows ended by `\n`, written as one slice.
  let runStart = -1;
  let runEnd = -1;
  const closeRun = (): void => {
    if (runStart >= 0) spill.add(b.subarray(runStart, runEnd));
    runStart = -1;
  };
  try {
    let pos = 0;
    while (pos < n) {
      const from = pos;
      let count = 0;
      let i = pos;
      // The row's end (before its line end) and where the next row starts.
      let to = -1;
      let next = -1;
      if (b[i] === LF || (b[i] === CR && b[i + 1] === LF)) {
        // An empty line: no row, as the text reader reads it.
        next = b[i] === LF ? i + 1 : i + 2;
        closeRun();
        line++;
        pos = next;
        continue;
      }
      for (;;) {
        let c = b[i];
        if (c === QUOTE) {
          let j = i + 1;
          for (;;) {
            while (j < n && b[j] !== QUOTE && b[j] !== LF && b[j] !== CR) j++;
            // A value over several lines (or with a `\r` the text reader makes a line end).
            if (j >= n || b[j] !== QUOTE) return undefined;
            if (b[j + 1] === QUOTE) {
              j += 2;
              continue;
            }
            break;
          }
          if (count < width) {
            starts[count] = i + 1;
            ends[count] = j;
            quoted[count] = 1;
          }
          count++;
          i = j + 1;
          c = b[i];
          if (c === delimiter) {
            i++;
            continue;
          }
        } else {
          let j = i;
          for (; j < n; j++) {
            const x = b[j] as number;
            if (x <= highestStop && stops[x] === 1) break;
          }
          c = b[j];
          if (c === QUOTE) return undefined;
          if (count < width) {
            starts[count] = i;
            ends[count] = j;
            quoted[count] = 0;
          }
          count++;
          i = j;
          if (j < n && c === delimiter) {
            i++;
            continue;
          }
        }
        // The row ends here: at the end of the block, a `\n`, or a `\r\n`.
        if (i >= n) {
          to = n;
          next = n;
        } else if (b[i] === LF) {
          to = i;
          next = i + 1;
        } else if (b[i] === CR && b[i + 1] === LF) {
          to = i;
          next = i + 2;
        } else {
          // Text after a closing quote, or a lone `\r`.
          return undefined;
        }
        break;
      }
      if (to - from > max) return undefined;
      if (count !== width) {
        malformedCount++;
        if (malformed.length < task.malformedExamples)
          malformed.push({
            line,
            reason: `${count} value${count === 1 ? '' : 's'} where ${task.fileHasHeader ? 'the header has' : 'the first row has'} ${width}`,
          });
        closeRun();
      } else {
        rows++;
        for (let k = 0; k < width; k++) {
          const a = starts[k] as number;
          const e = ends[k] as number;
          // A quoted value is never null; its inside is observed as written.
          if (quoted[k] === 1 || !isNullBytes(b, a, e)) {
            const into = evidence[k] as ColumnEvidence;
            // A text column only counts its values (what observeBytes would do, without a call).
            if ((into.seen & TEXT_SEEN) !== 0) into.values++;
            else observeBytes(into, b, a, e);
          }
        }
        if (to - from > longest) longest = to - from;
        if (next === to + 1) {
          // Ended by `\n`: the row and its line end join the run.
          if (runStart < 0) runStart = from;
          runEnd = next;
        } else {
          // Ended by `\r\n`, or the block's end: the row, then `\n`.
          closeRun();
          spill.add(b.subarray(from, to));
          spill.add(LINE_END);
        }
      }
      if (next > to) line++;
      pos = next;
    }
    closeRun();
  } finally {
    spill.close();
  }
  return {
    width,
    rows,
    evidence,
    malformedCount,
    malformed,
    preview: [],
    longest,
    lineBreaks: line - 1,
    spillPath: spill.written ? task.spillPath : null,
  };
};

const decoder = new TextDecoder('utf-8');

/**
 * Reads a block as {@link inspectCsvBytes} does, or, when that cannot, decodes it (line ends made
 * `\n`) and reads it with the text reader. Blocks of text go to the text reader.
 */
export const inspectBlock = (task: AnyBlockTask): BlockResult => {
  if (!('bytes' in task)) return inspectCsvBlock(task);
  const fast = inspectCsvBytes(task);
  if (fast !== undefined) return fast;
  const decoded = decoder.decode(task.bytes);
  const { bytes: _bytes, ...rest } = task;
  return inspectCsvBlock({
    ...rest,
    text: decoded.includes('\r') ? decoded.replace(/\r\n?/g, '\n') : decoded,
  });
};
