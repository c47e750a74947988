import { closeSync, openSync, writeSync } from 'node:fs';
import { type ColumnEvidence, newEvidence, observe, observeRange } from './column-types.ts';
import { CsvRecordReader, isNullRange, plainFields, quoteCsv } from './csv-records.ts';

/**
 * One block of a CSV file: whole lines, cut where no quoted value is open, so it can be read on
 * its own, in a worker thread or in line.
 */
export interface BlockTask {
  readonly text: string;
  readonly delimiter: string;
  /** Values per row; -1 for the first block, whose first record sets it. */
  readonly width: number;
  /** This block's first record is the header. */
  readonly header: boolean;
  /** The file has a header (names what the width is checked against in reasons). */
  readonly fileHasHeader: boolean;
  readonly maxRecordChars: number;
  readonly previewRows: number;
  readonly previewValueChars: number;
  readonly malformedExamples: number;
  /** Where the block's good rows are written, normalised, for DuckDB. */
  readonly spillPath: string;
}

export interface BlockResult {
  /** Set by the first block: the header's values, or undefined without a header. */
  readonly names?: readonly (string | null)[];
  readonly width: number;
  readonly rows: number;
  readonly evidence: readonly ColumnEvidence[];
  readonly malformedCount: number;
  /** Line numbers count from the block's first line (1). */
  readonly malformed: readonly { readonly line: number; readonly reason: string }[];
  readonly preview: readonly (readonly (string | null)[])[];
  /** Longest good row, in characters (in bytes when read as bytes: never fewer). */
  readonly longest: number;
  /** The line ends in the block: the next block's first line is this many lines on. */
  readonly lineBreaks: number;
  /** Null when the block had no good row (no file written). */
  readonly spillPath: string | null;
}

/**
 * Writes the spill's parts as lines. A block of good one-line rows is one part, a slice of the
 * block's text: written as it is, not joined into a copy first (with its line end added, a copy
 * of 2 Mi characters a block, then flattened again to be written).
 */
const writeParts = (path: string, parts: readonly string[]): void => {
  const fd = openSync(path, 'w');
  try {
    let batch: string[] = [];
    let size = 0;
    for (const part of parts) {
      batch.push(part);
      size += part.length;
      if (size >= 1024 * 1024) {
        writeSync(fd, batch.length === 1 ? (batch[0] as string) : batch.join('\n'));
        writeSync(fd, '\n');
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) {
      writeSync(fd, batch.join('\n'));
      writeSync(fd, '\n');
    }
  } finally {
    closeSync(fd);
  }
};

/**
 * Reads one block: checks each row's width, adds every value to its column's evidence, keeps the
 * first rows for the preview and writes the good rows to the block's spill file (rows of one line
 * as they were, others normalised).
 */
export const inspectCsvBlock = (task: BlockTask): BlockResult => {
  let width = task.width;
  let names: (string | null)[] | undefined;
  let evidence: ColumnEvidence[] = [];
  if (width >= 0) evidence = Array.from({ length: width }, newEvidence);
  let rows = 0;
  let malformedCount = 0;
  const malformed: { line: number; reason: string }[] = [];
  const preview: (string | null)[][] = [];
  // The spill: runs of good plain rows are kept as one slice of the block's text each.
  const parts: string[] = [];
  let runStart = -1;
  let runEnd = -1;
  const closeRun = (): void => {
    if (runStart >= 0) parts.push(task.text.slice(runStart, runEnd));
    runStart = -1;
  };
  let longest = 0;
  const clip = (v: string | null): string | null =>
    v !== null && v.length > task.previewValueChars ? v.slice(0, task.previewValueChars) : v;
  const onMalformed = (line: number, reason: string): void => {
    malformedCount++;
    if (malformed.length < task.malformedExamples) malformed.push({ line, reason });
  };
  /** True when the record is a data row of the right width. */
  const admit = (fields: () => (string | null)[], count: number, line: number): boolean => {
    if (width < 0) {
      const first = fields();
      width = first.length;
      evidence = Array.from({ length: width }, newEvidence);
      if (task.header) {
        names = first;
        return false;
      }
    }
    if (count === width) return true;
    onMalformed(
      line,
      `${count} value${count === 1 ? '' : 's'} where ${task.fileHasHeader ? 'the header has' : 'the first row has'} ${width}`,
    );
    return false;
  };
  const reader = new CsvRecordReader(
    { delimiter: task.delimiter, maxRecordChars: task.maxRecordChars },
    {
      malformed: onMalformed,
      plain: (text, from, to, starts, ends, count, line, quoted) => {
        if (!admit(() => plainFields(text, starts, ends, count, quoted), count, line)) return;
        rows++;
        for (let c = 0; c < count; c++) {
          const a = starts[c] as number;
          const b = ends[c] as number;
          // A quoted value is never null. Its inside is observed as written: a `""` in it makes
          // it text, as the quote it stands for would.
          if ((quoted !== null && quoted[c] === 1) || !isNullRange(text, a, b))
            observeRange(evidence[c] as ColumnEvidence, text, a, b);
        }
        if (preview.length < task.previewRows)
          preview.push(plainFields(text, starts, ends, count, quoted).map(clip));
        if (to - from > longest) longest = to - from;
        // The reader hands out offsets into the block's own text (one push, no carry).
        if (runStart >= 0 && runEnd + 1 === from) {
          runEnd = to;
        } else {
          closeRun();
          runStart = from;
          runEnd = to;
        }
      },
      quoted: (fields, line) => {
        if (!admit(() => fields, fields.length, line)) return;
        rows++;
        for (let c = 0; c < fields.length; c++) {
          const v = fields[c] as string | null;
          if (v !== null) observe(evidence[c] as ColumnEvidence, v);
        }
        if (preview.length < task.previewRows) preview.push(fields.map(clip));
        const row = fields.map(quoteCsv).join(task.delimiter);
        if (row.length > longest) longest = row.length;
        closeRun();
        parts.push(row);
      },
    },
  );
  reader.push(task.text);
  reader.end();
  closeRun();
  if (rows > 0) writeParts(task.spillPath, parts);
  let lineBreaks = 0;
  for (let k = task.text.indexOf('\n'); k >= 0; k = task.text.indexOf('\n', k + 1)) lineBreaks++;
  return {
    ...(names !== undefined && { names }),
    width,
    rows,
    evidence,
    malformedCount,
    malformed,
    preview,
    longest,
    lineBreaks,
    spillPath: rows > 0 ? task.spillPath : null,
  };
};
