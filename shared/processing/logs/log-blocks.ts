import { closeSync, openSync, writeSync } from 'node:fs';
import { quoteCsv } from '../tabular/csv-records.ts';
import {
  ERROR_LEVELS,
  type Level,
  LOG_FORMATS,
  type LogFormat,
  type ParsedLine,
} from './log-formats.ts';
import { detach, messageTemplate } from './templates.ts';

/** Lines of a log, read on their own (in a worker thread or in line). */
export interface LogBlockTask {
  /** Whole lines, each ended by `\n` but the file's last (line ends already made `\n`). */
  readonly text: string;
  /** Longer lines are cut to this. */
  readonly maxLineChars: number;
  /** Values of each top list sent back (the most frequent of the block). */
  readonly topKept: number;
  /** The number of the block's first line in the file. */
  readonly firstLine: number;
  readonly format: LogFormat;
  readonly referenceTimeUs: number;
  readonly unparsedExamples: number;
  /** The block's spill files are `<spillPrefix>-<day>.csv`, one for each event date it holds. */
  readonly spillPrefix: string;
}

/** One spill file: the rows of one event date (days since 1970-01-01 UTC; null: no time). */
export interface DaySpill {
  readonly day: number | null;
  readonly path: string;
}

type Counts = readonly (readonly [string, number])[];

export interface LogBlockResult {
  readonly lines: number;
  readonly parsed: number;
  readonly unparsed: number;
  readonly examples: readonly { readonly line: number; readonly text: string }[];
  readonly minUs: number;
  readonly maxUs: number;
  readonly levels: Counts;
  readonly errors: number;
  readonly statusClasses: Counts;
  readonly responseBytes: number;
  readonly templates: Counts;
  readonly paths: Counts;
  readonly clients: Counts;
  /** How far the block's own counts of its top values may be short. */
  readonly maxError: number;
  /** Longest row of the spill files, in bytes. */
  readonly longest: number;
  /** The block's spill files (none when no line parsed). */
  readonly spills: readonly DaySpill[];
}

/**
 * Writes a spill file's rows through a buffer of its own as they are made: no row is kept as a
 * string until the block ends, which (with millions of lines) was most of the garbage collector's
 * work. Appends, so a file closed to make room for another date can be written again.
 */
class SpillWriter {
  private buffer = Buffer.allocUnsafe(256 * 1024);
  private at = 0;
  constructor(private readonly path: string) {}

  /** Room for `n` more bytes, flushing (or growing, for one huge value) as needed. */
  private room(n: number): void {
    if (this.at + n <= this.buffer.length) return;
    this.flush();
    if (n > this.buffer.length) this.buffer = Buffer.allocUnsafe(n);
  }

  private flush(): void {
    if (this.at === 0) return;
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, this.buffer, 0, this.at);
    } finally {
      closeSync(fd);
    }
    this.at = 0;
  }

  /** Writes text as UTF-8 (at most three bytes a UTF-16 unit); returns its bytes. */
  text(value: string): number {
    this.room(value.length * 3);
    const bytes = this.buffer.write(value, this.at);
    this.at += bytes;
    return bytes;
  }

  close(): void {
    this.flush();
  }
}

const DAY_US = 86_400_000_000;
/** Writers open at once in a block: a log whose lines jump between many dates closes some. */
const MAX_OPEN_DAYS = 8;

/**
 * A block's spill, one file per event date, so that each date's Parquet file can be written by
 * a COPY of its own, which DuckDB runs on every core (a partitioned COPY barely runs on two).
 */
class DaySpills {
  private readonly open = new Map<number | null, SpillWriter>();
  private readonly made = new Map<number | null, string>();
  // Consecutive lines mostly share their date.
  private lastDay: number | null | undefined;
  private last: SpillWriter | undefined;
  constructor(private readonly prefix: string) {}

  writer(timeUs: number | null): SpillWriter {
    const day = timeUs === null ? null : Math.floor(timeUs / DAY_US);
    if (day === this.lastDay && this.last !== undefined) return this.last;
    let writer = this.open.get(day);
    if (writer === undefined) writer = this.start(day);
    this.lastDay = day;
    this.last = writer;
    return writer;
  }

  private start(day: number | null): SpillWriter {
    if (this.open.size >= MAX_OPEN_DAYS) {
      const [oldest, w] = this.open.entries().next().value as [number | null, SpillWriter];
      w.close();
      this.open.delete(oldest);
      if (this.last === w) this.last = undefined;
    }
    let path = this.made.get(day);
    if (path === undefined) {
      path = `${this.prefix}-${day === null ? 'none' : day}.csv`;
      this.made.set(day, path);
    }
    const writer = new SpillWriter(path);
    this.open.set(day, writer);
    return writer;
  }

  close(): DaySpill[] {
    for (const w of this.open.values()) w.close();
    this.open.clear();
    return [...this.made].map(([day, path]) => ({ day, path }));
  }
}

const spillValue = (v: string | number | null): string =>
  v === null ? '' : typeof v === 'number' ? String(v) : quoteCsv(v);

// Kept across the blocks one thread reads: most messages repeat.
const templateCache = new Map<string, string>();

const templateOf = (message: string): string => {
  let template = templateCache.get(message);
  if (template === undefined) {
    template = messageTemplate(message);
    if (templateCache.size > 50_000) templateCache.clear();
    templateCache.set(detach(message), detach(template));
  }
  return template;
};

const count = (counts: Map<string, number>, value: string): void => {
  counts.set(value, (counts.get(value) ?? 0) + 1);
};

/**
 * A block's exact counts, cut to its `kept` most frequent values (the rest would only be dropped
 * again by the file's bounded counter): returns them and the largest count dropped, which bounds
 * how far short any value's total can be. Linear: the cut is found from a histogram of the
 * counts (mostly ones and twos) instead of sorting every distinct value of the block; among
 * values of the cut's count the first seen are kept.
 */
const mostFrequent = (
  counts: Map<string, number>,
  kept: number,
): { entries: [string, number][]; dropped: number } => {
  if (counts.size <= kept) return { entries: [...counts], dropped: 0 };
  const histogram = new Map<number, number>();
  for (const n of counts.values()) histogram.set(n, (histogram.get(n) ?? 0) + 1);
  const levels = [...histogram.keys()].sort((a, b) => b - a);
  // The smallest count `cut` such that the values counted above it fit in `kept`.
  let above = 0;
  let cut = 0;
  for (const level of levels) {
    const atLevel = histogram.get(level) ?? 0;
    cut = level;
    if (above + atLevel > kept) break;
    above += atLevel;
  }
  let room = kept - above;
  const entries: [string, number][] = [];
  for (const [value, n] of counts) {
    if (n > cut) entries.push([value, n]);
    else if (n === cut && room > 0) {
      entries.push([value, n]);
      room--;
    }
  }
  return { entries, dropped: cut };
};

/**
 * Parses every line of a block with the file's format, sums it up, and writes the parsed lines
 * (time in microseconds, the format's columns, the line number) to the block's spill file.
 * Counts of templates, paths and clients are exact within the block; each list sent back holds
 * the block's `topKept` most frequent values.
 */
export const analyseLogBlock = (task: LogBlockTask): LogBlockResult => {
  const spec = LOG_FORMATS.find((f) => f.format === task.format);
  if (spec === undefined) throw new Error(`Unknown log format ${task.format}`);
  const context = { referenceTimeUs: task.referenceTimeUs };
  const access = spec.format === 'combined' || spec.format === 'common';
  const text = task.text;
  let parsedCount = 0;
  let unparsed = 0;
  const examples: { line: number; text: string }[] = [];
  let minUs = Number.POSITIVE_INFINITY;
  let maxUs = Number.NEGATIVE_INFINITY;
  const levels = new Map<Level, number>();
  let errors = 0;
  const statusClasses = new Map<string, number>();
  let responseBytes = 0;
  // Keys are cut from the block's text, which lives as long as these maps: no copies needed.
  const templates = new Map<string, number>();
  const paths = new Map<string, number>();
  const clients = new Map<string, number>();
  const spill = new DaySpills(task.spillPrefix);
  let spills: DaySpill[] = [];
  let longest = 0;
  let lineCount = 0;
  try {
    // Every `\n` ends a line, and the text after the last one is a line too (as `split` reads).
    for (let start = 0; start <= text.length; ) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const lineNumber = task.firstLine + lineCount;
      lineCount++;
      const from = start;
      start = end + 1;
      if (end === from) continue;
      const line = text.slice(from, Math.min(end, from + task.maxLineChars));
      if (line.trim() === '') continue;
      const parsed: ParsedLine | undefined = spec.parse(line, context);
      if (parsed === undefined) {
        unparsed++;
        if (examples.length < task.unparsedExamples)
          examples.push({ line: lineNumber, text: line.slice(0, 200) });
        continue;
      }
      parsedCount++;
      const t = parsed.timeUs;
      if (t !== null) {
        if (t < minUs) minUs = t;
        if (t > maxUs) maxUs = t;
      }
      if (parsed.level !== null) {
        levels.set(parsed.level, (levels.get(parsed.level) ?? 0) + 1);
        if (!access && ERROR_LEVELS.has(parsed.level)) errors++;
      }
      count(templates, templateOf(parsed.message));
      if (parsed.access) {
        const a = parsed.access;
        const cls = `${Math.floor(a.status / 100)}xx`;
        statusClasses.set(cls, (statusClasses.get(cls) ?? 0) + 1);
        if (a.status >= 500) errors++;
        responseBytes += a.bytes;
        count(paths, a.path);
        count(clients, a.client);
      }
      // One write a row: the row's string dies young, which the collector handles cheaply.
      let row = t === null ? '' : String(t);
      for (const v of parsed.values) row += `,${spillValue(v)}`;
      const written = spill.writer(t).text(`${row},${lineNumber}\n`);
      if (written > longest) longest = written;
    }
  } finally {
    spills = spill.close();
  }
  const top = [templates, paths, clients].map((m) => mostFrequent(m, task.topKept));
  return {
    lines: lineCount,
    parsed: parsedCount,
    unparsed,
    examples,
    minUs,
    maxUs,
    levels: [...levels],
    errors,
    statusClasses: [...statusClasses],
    responseBytes,
    templates: top[0]?.entries ?? [],
    paths: top[1]?.entries ?? [],
    clients: top[2]?.entries ?? [],
    maxError: Math.max(...top.map((t) => t.dropped)),
    longest,
    spills,
  };
};
