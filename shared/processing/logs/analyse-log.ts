import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  defaultEngineSettings,
  type EngineSettings,
  sqlIdentifier,
  sqlString,
  withDuckDb,
} from '../duckdb-engine.ts';
import type { OpenBody } from '../tabular/inspect-tabular.ts';
import {
  DEFAULT_TEXT_INPUT_LIMITS,
  LateEncodingError,
  openTextInput,
  type TextEncoding,
  type TextInputLimits,
  UnreadableInputError,
} from '../text-input.ts';
import { defaultThreads, taskRunner } from '../worker-pool.ts';
import { type LineBlock, LineBlockCutter } from './line-blocks.ts';
import {
  analyseLogBlock,
  type DaySpill,
  type LogBlockResult,
  type LogBlockTask,
} from './log-blocks.ts';
import {
  type Level,
  LOG_FORMATS,
  type LogColumn,
  type LogFormat,
  type LogFormatSpec,
  type ParseContext,
} from './log-formats.ts';
import { type Counted, TopCounter } from './templates.ts';

export interface LogLimits extends TextInputLimits {
  /** Longer lines are cut to this for parsing (and usually fail to parse). */
  readonly maxLineChars: number;
  /** Non-blank lines the format is detected from. */
  readonly detectLines: number;
  readonly unparsedExamples: number;
  readonly top: number;
  /** Characters of lines read as one block (by one worker thread). */
  readonly blockChars: number;
}

export const DEFAULT_LOG_LIMITS: LogLimits = {
  ...DEFAULT_TEXT_INPUT_LIMITS,
  maxLineChars: 64 * 1024,
  detectLines: 500,
  unparsedExamples: 10,
  top: 20,
  blockChars: 2 * 1024 * 1024,
};

/** What the record of a log file shows. Counts are exact; top lists see {@link TopCounter}. */
export interface LogSummary {
  readonly format: LogFormat;
  readonly encoding: TextEncoding;
  readonly compression: 'gzip' | 'none';
  readonly lines: number;
  readonly parsed: number;
  readonly unparsed: number;
  readonly unparsedExamples: readonly { readonly line: number; readonly text: string }[];
  /** First and last event time (ISO 8601, UTC), null when no line has one. */
  readonly timeRange: { readonly from: string; readonly to: string } | null;
  readonly levels: Readonly<Partial<Record<Level, number>>>;
  /** Share of parsed lines that are errors: 5xx responses for access logs, error levels otherwise. */
  readonly errorRate: number;
  readonly bytes: { readonly stored: number; readonly decoded: number };
  readonly topTemplates: readonly { readonly template: string; readonly count: number }[];
  readonly access?: {
    readonly statusClasses: Readonly<Record<string, number>>;
    readonly responseBytes: number;
    readonly topPaths: readonly { readonly path: string; readonly count: number }[];
    readonly topClients: readonly { readonly client: string; readonly count: number }[];
  };
  /** How far off a count in a top list can be (0: exact). */
  readonly topCountMaxError: number;
}

export interface LogParquet {
  /** One table per format: its columns in order, `event_date` the partition column. */
  readonly columns: readonly LogColumn[];
  readonly files: readonly {
    readonly path: string;
    /** Path under `outDir`: `event_date=YYYY-MM-DD/<fileId>_0.parquet` (one file a date). */
    readonly key: string;
    readonly eventDate: string;
    readonly bytes: number;
  }[];
  readonly rowCount: number;
}

export type LogOutcome =
  | { readonly status: 'PROCESSED'; readonly summary: LogSummary; readonly parquet: LogParquet }
  | {
      readonly status: 'REJECTED';
      readonly reason: string;
      /** What a library said (zlib), for the log only. */
      readonly cause?: unknown;
    };

export interface AnalyseLogOptions {
  /** A directory of this invocation's own for the spill file. */
  readonly scratchDir: string;
  /** Where the partitioned Parquet files are written (created; must be empty or absent). */
  readonly outDir: string;
  /** Names the Parquet files and fills the `file_id` column. */
  readonly fileId: string;
  /** The upload's time: the year of RFC 3164 dates, the partition of lines without a time. */
  readonly referenceTime: Date;
  readonly limits?: LogLimits;
  readonly engine?: EngineSettings;
  /** Worker threads parsing blocks of lines (0: in this thread); default: the cores, up to four. */
  readonly threads?: number;
}

/** Columns every log table ends with, after the format's own. */
const TRAILING_COLUMNS: readonly LogColumn[] = [
  { name: 'source_line', type: 'BIGINT' },
  { name: 'file_id', type: 'VARCHAR' },
];

/** The Parquet and table columns of a format, `event_time` first (`event_date` is the partition). */
export const logTableColumns = (format: LogFormat): readonly LogColumn[] => {
  const spec = LOG_FORMATS.find((f) => f.format === format) as LogFormatSpec;
  return [{ name: 'event_time', type: 'TIMESTAMP' }, ...spec.columns, ...TRAILING_COLUMNS];
};

const DDL_TYPES: Record<LogColumn['type'], string> = {
  TIMESTAMP: 'timestamp',
  VARCHAR: 'string',
  INTEGER: 'int',
  BIGINT: 'bigint',
};

/** A format's table columns as the catalog keeps them (Hive DDL types; event_date is the partition). */
export const logCatalogColumns = (format: LogFormat): { name: string; type: string }[] =>
  logTableColumns(format).map((c) => ({ name: c.name, type: DDL_TYPES[c.type] }));

/**
 * Values of each top list (templates, paths, clients) a block sends back: its most frequent. A
 * block of 2 Mi characters holds some 13,000 access log lines; sending every distinct client
 * of such a block made the file's counter prune (sort) after almost every block.
 */
const BLOCK_TOP_KEPT = 1000;

const chooseFormat = (
  lines: readonly string[],
  context: ParseContext,
): LogFormatSpec | undefined => {
  let best: { spec: LogFormatSpec; parsed: number } | undefined;
  for (const spec of LOG_FORMATS) {
    let parsed = 0;
    for (const line of lines) if (spec.parse(line, context) !== undefined) parsed++;
    if (parsed > 0 && (best === undefined || parsed > best.parsed)) best = { spec, parsed };
  }
  return best?.spec;
};

const isoOf = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();

interface Tally {
  lines: number;
  parsed: number;
  unparsed: number;
  examples: { line: number; text: string }[];
  minUs: number;
  maxUs: number;
  levels: Map<Level, number>;
  errors: number;
  statusClasses: Map<string, number>;
  responseBytes: number;
  templates: TopCounter;
  paths: TopCounter;
  clients: TopCounter;
  /** The sum of the blocks' own error bounds on their top values. */
  blockMaxError: number;
}

const readLog = async (
  open: OpenBody,
  options: AnalyseLogOptions,
  limits: LogLimits,
  forced: { encoding: TextEncoding } | undefined,
  spillDir: string,
): Promise<
  | {
      status: 'READ';
      spec: LogFormatSpec;
      tally: Tally;
      input: Awaited<ReturnType<typeof openTextInput>>;
      longest: number;
      spills: readonly DaySpill[];
    }
  | { status: 'REJECTED'; reason: string }
> => {
  const input = await openTextInput(await open(), limits, forced);
  const context: ParseContext = { referenceTimeUs: options.referenceTime.getTime() * 1000 };
  const chunks = input.text[Symbol.asyncIterator]();
  const cutter = new LineBlockCutter(limits.blockChars, limits.maxLineChars);
  // The first blocks, kept until the format is known from their first non-blank lines.
  const early: LineBlock[] = [];
  const nonBlank: string[] = [];
  let ended = false;
  while (nonBlank.length < limits.detectLines && !ended) {
    const next = await chunks.next();
    ended = next.done === true;
    const blocks = ended ? cutter.end() : cutter.push(next.value as string);
    for (const block of blocks) {
      early.push(block);
      for (const line of block.text.split('\n')) {
        if (nonBlank.length >= limits.detectLines) break;
        if (line.trim() !== '') nonBlank.push(line.slice(0, limits.maxLineChars));
      }
    }
  }
  if (nonBlank.length === 0) {
    await chunks.return?.(undefined);
    return { status: 'REJECTED', reason: 'The log file has no lines.' };
  }
  const spec = chooseFormat(nonBlank, context);
  if (spec === undefined) {
    await chunks.return?.(undefined);
    const first = (nonBlank[0] as string).slice(0, 120);
    return {
      status: 'REJECTED',
      reason: `No line of the file is in a known log format (JSON lines, combined or common access log, syslog RFC 5424 or 3164, "timestamp level message"); its first line reads: ${first}`,
    };
  }
  const tally: Tally = {
    lines: 0,
    parsed: 0,
    unparsed: 0,
    examples: [],
    minUs: Number.POSITIVE_INFINITY,
    maxUs: Number.NEGATIVE_INFINITY,
    levels: new Map(),
    errors: 0,
    statusClasses: new Map(),
    responseBytes: 0,
    templates: new TopCounter(),
    paths: new TopCounter(),
    clients: new TopCounter(),
    blockMaxError: 0,
  };
  const threads = options.threads ?? defaultThreads();
  const runner = taskRunner<LogBlockTask, LogBlockResult>(
    threads,
    import.meta.url,
    'log-block-worker',
    analyseLogBlock,
  );
  const spills: DaySpill[] = [];
  let longest = 0;
  const merge = (r: LogBlockResult): void => {
    tally.lines += r.lines;
    tally.parsed += r.parsed;
    tally.unparsed += r.unparsed;
    for (const e of r.examples)
      if (tally.examples.length < limits.unparsedExamples) tally.examples.push(e);
    if (r.minUs < tally.minUs) tally.minUs = r.minUs;
    if (r.maxUs > tally.maxUs) tally.maxUs = r.maxUs;
    for (const [level, n] of r.levels)
      tally.levels.set(level as Level, (tally.levels.get(level as Level) ?? 0) + n);
    tally.errors += r.errors;
    for (const [cls, n] of r.statusClasses)
      tally.statusClasses.set(cls, (tally.statusClasses.get(cls) ?? 0) + n);
    tally.responseBytes += r.responseBytes;
    for (const [v, n] of r.templates) tally.templates.add(v, n);
    for (const [v, n] of r.paths) tally.paths.add(v, n);
    for (const [v, n] of r.clients) tally.clients.add(v, n);
    tally.blockMaxError += r.maxError;
    spills.push(...r.spills);
    if (r.longest > longest) longest = r.longest;
  };
  // Enough blocks queued to keep every worker busy, few enough to bound memory.
  const maxInFlight = Math.max(1, 2 * threads);
  const inFlight: Promise<LogBlockResult>[] = [];
  const settle = async (all: boolean): Promise<void> => {
    while (inFlight.length > (all ? 0 : maxInFlight - 1)) {
      merge(await (inFlight.shift() as Promise<LogBlockResult>));
    }
  };
  let firstLine = 1;
  let blocks = 0;
  /** `last`: no more lines follow; a file that is one block is then read here, no thread started. */
  const dispatch = async (block: LineBlock, last: boolean): Promise<void> => {
    const task: LogBlockTask = {
      text: block.text,
      maxLineChars: limits.maxLineChars,
      topKept: BLOCK_TOP_KEPT,
      firstLine,
      format: spec.format,
      referenceTimeUs: context.referenceTimeUs,
      unparsedExamples: limits.unparsedExamples,
      spillPrefix: join(spillDir, `log-${String(blocks++).padStart(6, '0')}`),
    };
    firstLine += block.lines;
    if (last && blocks === 1) {
      merge(analyseLogBlock(task));
      return;
    }
    inFlight.push(runner.run(task));
    await settle(false);
  };
  try {
    await mkdir(spillDir, { recursive: true });
    for (let i = 0; i < early.length; i++)
      await dispatch(early[i] as LineBlock, ended && i === early.length - 1);
    early.length = 0;
    while (!ended) {
      const next = await chunks.next();
      ended = next.done === true;
      const blocks = ended ? cutter.end() : cutter.push(next.value as string);
      for (let i = 0; i < blocks.length; i++)
        await dispatch(blocks[i] as LineBlock, ended && i === blocks.length - 1);
    }
    await settle(true);
  } catch (error) {
    await Promise.allSettled(inFlight);
    throw error;
  } finally {
    await runner.close();
  }
  return { status: 'READ', spec, tally, input, longest, spills };
};

const countedAs = <K extends string>(list: Counted[], key: K) =>
  list.map((c) => ({ [key]: c.value, count: c.count }) as { [P in K]: string } & { count: number });

/**
 * A log file, as one pipeline step: detects its format from its first lines (the format that
 * parses most of them), parses every line, and sums it up (lines parsed and not, time range,
 * counts by level and, for access logs, by status class, error rate, bytes, the top message
 * templates, paths and clients). The parsed lines are written as Parquet under `outDir`,
 * partitioned by the log's own event date (Hive style, `event_date=YYYY-MM-DD/`), one schema per
 * format ({@link logTableColumns}). A file that is not text or has no line in a known format is
 * `REJECTED` with a reason; the spill file is removed in every case.
 */
export const analyseLog = async (
  open: OpenBody,
  options: AnalyseLogOptions,
): Promise<LogOutcome> => {
  const limits = options.limits ?? DEFAULT_LOG_LIMITS;
  const spillDir = join(options.scratchDir, 'log-spill');
  try {
    let read: Awaited<ReturnType<typeof readLog>>;
    try {
      try {
        read = await readLog(open, options, limits, undefined, spillDir);
      } catch (error) {
        if (!(error instanceof LateEncodingError)) throw error;
        await rm(spillDir, { recursive: true, force: true });
        read = await readLog(open, options, limits, { encoding: 'windows-1252' }, spillDir);
      }
    } catch (error) {
      if (error instanceof UnreadableInputError) {
        return {
          status: 'REJECTED',
          reason: error.message,
          ...(error.cause !== undefined && { cause: error.cause }),
        };
      }
      throw error;
    }
    if (read.status === 'REJECTED') return read;
    const { spec, tally, input } = read;
    if (tally.parsed === 0) {
      const first = tally.examples[0];
      return {
        status: 'REJECTED',
        reason: `No line of the file could be parsed as ${spec.description}${first ? ` (line ${first.line}: ${first.text.slice(0, 120)})` : ''}.`,
      };
    }
    const columns = logTableColumns(spec.format);
    const parquet = await writeLogParquet(spec, read.spills, read.longest, options, tally.parsed);
    const access = spec.format === 'combined' || spec.format === 'common';
    const summary: LogSummary = {
      format: spec.format,
      encoding: input.encoding,
      compression: input.compression,
      lines: tally.lines,
      parsed: tally.parsed,
      unparsed: tally.unparsed,
      unparsedExamples: tally.examples,
      timeRange: Number.isFinite(tally.minUs)
        ? { from: isoOf(tally.minUs), to: isoOf(tally.maxUs) }
        : null,
      levels: Object.fromEntries([...tally.levels].sort()),
      errorRate: Number((tally.errors / tally.parsed).toFixed(4)),
      bytes: { stored: input.storedBytes(), decoded: input.decodedBytes() },
      topTemplates: countedAs(tally.templates.top(limits.top), 'template'),
      ...(access && {
        access: {
          statusClasses: Object.fromEntries([...tally.statusClasses].sort()),
          responseBytes: tally.responseBytes,
          topPaths: countedAs(tally.paths.top(limits.top), 'path'),
          topClients: countedAs(tally.clients.top(limits.top), 'client'),
        },
      }),
      // A value's total can be short by what the file's counter pruned plus what every block
      // left out of the list it sent.
      topCountMaxError:
        Math.max(tally.templates.maxError, tally.paths.maxError, tally.clients.maxError) +
        tally.blockMaxError,
    };
    return { status: 'PROCESSED', summary, parquet: { ...parquet, columns } };
  } finally {
    await rm(spillDir, { recursive: true, force: true });
  }
};

/**
 * Writes the parsed lines as Parquet, one file per event date, `event_date=YYYY-MM-DD/<fileId>_0`
 * (lines without a time under the upload's date): a plain COPY of that date's spill files each,
 * which DuckDB runs on every core, where one partitioned COPY of them all barely used a second.
 */
const writeLogParquet = async (
  spec: LogFormatSpec,
  spills: readonly DaySpill[],
  longest: number,
  options: AnalyseLogOptions,
  expectedRows: number,
): Promise<Omit<LogParquet, 'columns'>> => {
  const readColumns = [
    `'t': 'BIGINT'`,
    ...spec.columns.map((c, i) => `${sqlString(`c${i}`)}: ${sqlString(c.type)}`),
    `'line': 'BIGINT'`,
  ].join(', ');
  const fallback = options.referenceTime.toISOString().slice(0, 10);
  const select = [
    'make_timestamp(t) AS event_time',
    ...spec.columns.map((c, i) => `${sqlIdentifier(`c${i}`)} AS ${sqlIdentifier(c.name)}`),
    'line AS source_line',
    `${sqlString(options.fileId)} AS file_id`,
  ].join(', ');
  // Read buffers only as large as the longest row needs: DuckDB's default (32 MiB) is set up for
  // each of a date's files (one a block), which raised the peak by 50 to 100 MB on 1 GiB.
  const maxLine = Math.max(2 * 1024 * 1024, longest + 64);
  const byDate = new Map<string, string[]>();
  for (const { day, path } of spills) {
    const date = day === null ? fallback : new Date(day * 86_400_000).toISOString().slice(0, 10);
    const paths = byDate.get(date);
    if (paths === undefined) byDate.set(date, [path]);
    else paths.push(path);
  }
  const prefix = options.fileId.replace(/[^A-Za-z0-9_-]/g, '_');
  let written = 0;
  const files: { path: string; key: string; eventDate: string; bytes: number }[] = [];
  await withDuckDb(
    options.engine ?? defaultEngineSettings(options.scratchDir),
    async (connection) => {
      for (const date of [...byDate.keys()].sort()) {
        const paths = byDate.get(date) ?? [];
        const read = `read_csv([${paths.map(sqlString).join(', ')}], header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, max_line_size = ${maxLine}, buffer_size = ${2 * maxLine}, columns = {${readColumns}})`;
        const key = `event_date=${date}/${prefix}_0.parquet`;
        const path = join(options.outDir, key);
        await mkdir(dirname(path), { recursive: true });
        const copied = await connection.run(
          `COPY (SELECT ${select} FROM ${read}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`,
        );
        written += Number(copied.rowsChanged);
        files.push({ path, key, eventDate: date, bytes: (await stat(path)).size });
      }
    },
  );
  if (written !== expectedRows) {
    throw new Error(`DuckDB wrote ${written} log rows where ${expectedRows} lines were parsed`);
  }
  return { files, rowCount: expectedRows };
};
