import { writeFileSync } from 'node:fs';
import { quoteCsv } from '../tabular/csv-records.ts';
import {
  ERROR_LEVELS,
  type Level,
  LOG_FORMATS,
  type LogFormat,
  type ParsedLine,
} from './log-formats.ts';
import { detach, messageTemplate, TopCounter } from './templates.ts';

/** Lines of a log, read on their own (in a worker thread or in line). */
export interface LogBlockTask {
  /** Lines joined by `\n` (already split and cut to the line limit). */
  readonly text: string;
  /** The number of the block's first line in the file. */
  readonly firstLine: number;
  readonly format: LogFormat;
  readonly referenceTimeUs: number;
  readonly unparsedExamples: number;
  readonly spillPath: string;
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
  readonly longest: number;
  /** Null when no line parsed (no file written). */
  readonly spillPath: string | null;
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

/**
 * Parses every line of a block with the file's format, sums it up, and writes the parsed lines
 * (time in microseconds, the format's columns, the line number) to the block's spill file.
 */
export const analyseLogBlock = (task: LogBlockTask): LogBlockResult => {
  const spec = LOG_FORMATS.find((f) => f.format === task.format);
  if (spec === undefined) throw new Error(`Unknown log format ${task.format}`);
  const context = { referenceTimeUs: task.referenceTimeUs };
  const access = spec.format === 'combined' || spec.format === 'common';
  const lines = task.text.split('\n');
  let parsedCount = 0;
  let unparsed = 0;
  const examples: { line: number; text: string }[] = [];
  let minUs = Number.POSITIVE_INFINITY;
  let maxUs = Number.NEGATIVE_INFINITY;
  const levels = new Map<Level, number>();
  let errors = 0;
  const statusClasses = new Map<string, number>();
  let responseBytes = 0;
  const templates = new TopCounter();
  const paths = new TopCounter();
  const clients = new TopCounter();
  const rows: string[] = [];
  let longest = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length === 0 || line.trim() === '') continue;
    const lineNumber = task.firstLine + i;
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
    templates.add(templateOf(parsed.message));
    if (parsed.access) {
      const a = parsed.access;
      const cls = `${Math.floor(a.status / 100)}xx`;
      statusClasses.set(cls, (statusClasses.get(cls) ?? 0) + 1);
      if (a.status >= 500) errors++;
      responseBytes += a.bytes;
      paths.add(a.path);
      clients.add(a.client);
    }
    let row = t === null ? '' : String(t);
    for (const v of parsed.values) row += `,${spillValue(v)}`;
    row += `,${lineNumber}`;
    if (row.length > longest) longest = row.length;
    rows.push(row);
  }
  if (rows.length > 0) writeFileSync(task.spillPath, `${rows.join('\n')}\n`);
  return {
    lines: lines.length,
    parsed: parsedCount,
    unparsed,
    examples,
    minUs,
    maxUs,
    levels: [...levels],
    errors,
    statusClasses: [...statusClasses],
    responseBytes,
    templates: templates.entries(),
    paths: paths.entries(),
    clients: clients.entries(),
    maxError: Math.max(templates.maxError, paths.maxError, clients.maxError),
    longest,
    spillPath: rows.length > 0 ? task.spillPath : null,
  };
};
