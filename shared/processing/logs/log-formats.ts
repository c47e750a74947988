/**
 * The log formats recognised, each a line parser into one normalised record shape. A format's
 * columns are its Parquet (and Glue table) columns after `event_time`.
 */

export type LogFormat =
  | 'json'
  | 'combined'
  | 'common'
  | 'syslog-rfc5424'
  | 'syslog-rfc3164'
  | 'text';

export type Level =
  | 'trace'
  | 'debug'
  | 'info'
  | 'notice'
  | 'warning'
  | 'error'
  | 'critical'
  | 'alert'
  | 'emergency';

export const ERROR_LEVELS: ReadonlySet<Level> = new Set([
  'error',
  'critical',
  'alert',
  'emergency',
]);

export type LogColumnType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'TIMESTAMP';

export interface LogColumn {
  readonly name: string;
  readonly type: LogColumnType;
}

/** One parsed line. `values` follow the format's `columns`. */
export interface ParsedLine {
  /** Event time in microseconds since the epoch (UTC); null when the line has none. */
  readonly timeUs: number | null;
  readonly level: Level | null;
  /** The text its template is made from. */
  readonly message: string;
  readonly values: readonly (string | number | null)[];
  /** Access logs only. */
  readonly access?: {
    readonly status: number;
    readonly bytes: number;
    readonly path: string;
    readonly client: string;
  };
}

export interface ParseContext {
  /** The year of a syslog (RFC 3164) timestamp, which has none: that of the upload. */
  readonly referenceTimeUs: number;
}

export interface LogFormatSpec {
  readonly format: LogFormat;
  readonly description: string;
  readonly columns: readonly LogColumn[];
  parse(line: string, context: ParseContext): ParsedLine | undefined;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const LEVEL_WORDS: Record<string, Level> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'notice',
  warn: 'warning',
  warning: 'warning',
  error: 'error',
  err: 'error',
  severe: 'error',
  critical: 'critical',
  crit: 'critical',
  fatal: 'critical',
  alert: 'alert',
  emerg: 'emergency',
  emergency: 'emergency',
  panic: 'emergency',
};

const SEVERITIES: readonly Level[] = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'info',
  'debug',
];

/** A level word in any case, or a number as pino and bunyan write them (10 trace … 60 fatal). */
export const levelOf = (value: unknown): Level | null => {
  if (typeof value === 'number') {
    if (value >= 60) return 'critical';
    if (value >= 50) return 'error';
    if (value >= 40) return 'warning';
    if (value >= 30) return 'info';
    if (value >= 20) return 'debug';
    return 'trace';
  }
  if (typeof value !== 'string') return null;
  return LEVEL_WORDS[value.toLowerCase()] ?? null;
};

const HAS_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** ISO 8601 (a space for the T, a comma for the dot, no zone meaning UTC) in microseconds. */
export const isoTimeUs = (text: string): number | null => {
  let t = text.trim().replace(',', '.');
  if (t.length > 10 && t[10] === ' ') t = `${t.slice(0, 10)}T${t.slice(11)}`;
  if (!HAS_ZONE.test(t)) t += 'Z';
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return null;
  const fraction = /\.(\d{4,6})/.exec(t)?.[1];
  const extraUs = fraction ? Number(fraction.padEnd(6, '0').slice(3, 6)) : 0;
  return ms * 1000 + extraUs;
};

let lastClf = '';
let lastClfUs: number | null = null;

/** `25/Nov/2026:10:00:00 +0100` in microseconds; consecutive lines mostly repeat the second. */
const clfTimeUs = (text: string): number | null => {
  if (text === lastClf) return lastClfUs;
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(
    text,
  );
  let us: number | null = null;
  if (m) {
    const month = MONTHS[m[2] as string];
    if (month !== undefined) {
      const offsetMin = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
      const ms = Date.UTC(
        Number(m[3]),
        month,
        Number(m[1]),
        Number(m[4]),
        Number(m[5]),
        Number(m[6]),
      );
      us = (ms - offsetMin * 60_000) * 1000;
    }
  }
  lastClf = text;
  lastClfUs = us;
  return us;
};

const dash = (v: string | undefined): string | null => (v === undefined || v === '-' ? null : v);

const unescapeQuoted = (v: string): string => (v.includes('\\') ? v.replace(/\\(.)/g, '$1') : v);

const ACCESS_COLUMNS: readonly LogColumn[] = [
  { name: 'level', type: 'VARCHAR' },
  { name: 'client_ip', type: 'VARCHAR' },
  { name: 'ident', type: 'VARCHAR' },
  { name: 'remote_user', type: 'VARCHAR' },
  { name: 'method', type: 'VARCHAR' },
  { name: 'path', type: 'VARCHAR' },
  { name: 'query', type: 'VARCHAR' },
  { name: 'protocol', type: 'VARCHAR' },
  { name: 'status', type: 'INTEGER' },
  { name: 'bytes', type: 'BIGINT' },
];

const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const COMMON = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)$/;
const COMBINED = new RegExp(
  `^(\\S+) (\\S+) (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}) (\\d+|-) ${QUOTED} ${QUOTED}`,
);
const REQUEST = /^([A-Z]+) (\S+)(?: (HTTP\/[\d.]+))?$/;

const accessLine = (m: RegExpExecArray, combined: boolean): ParsedLine | undefined => {
  const timeUs = clfTimeUs(m[4] as string);
  if (timeUs === null) return undefined;
  const request = unescapeQuoted(m[5] as string);
  const r = REQUEST.exec(request);
  let method: string | null = null;
  let path: string | null = request === '-' || request === '' ? null : request;
  let query: string | null = null;
  let protocol: string | null = null;
  if (r) {
    method = r[1] as string;
    const target = r[2] as string;
    const q = target.indexOf('?');
    path = q < 0 ? target : target.slice(0, q);
    query = q < 0 ? null : target.slice(q + 1);
    protocol = r[3] ?? null;
  }
  const status = Number(m[6]);
  const bytes = m[7] === '-' ? 0 : Number(m[7]);
  const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warning' : 'info';
  const client = m[1] as string;
  const values: (string | number | null)[] = [
    level,
    client,
    dash(m[2]),
    dash(m[3]),
    method,
    path,
    query,
    protocol,
    status,
    m[7] === '-' ? null : bytes,
  ];
  if (combined)
    values.push(dash(unescapeQuoted(m[8] as string)), dash(unescapeQuoted(m[9] as string)));
  return {
    timeUs,
    level,
    message: method ? `${method} ${path ?? ''}` : (path ?? '-'),
    values,
    access: { status, bytes, path: path ?? '-', client },
  };
};

const RFC5424 =
  /^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/;
const RFC3164 =
  /^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) ([^:[\s]+)(?:\[([^\]]*)\])?: ?(.*)$/;
const TEXT =
  /^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)\]?\s+\[?(trace|debug|info|information|notice|warn|warning|error|err|severe|critical|crit|fatal|alert|emerg|emergency|panic)\]?:?\s+(.*)$/i;

const priority = (
  pri: string | undefined,
): { facility: number | null; severity: number | null; level: Level | null } => {
  if (pri === undefined) return { facility: null, severity: null, level: null };
  const n = Number(pri);
  if (n > 191) return { facility: null, severity: null, level: null };
  return { facility: n >> 3, severity: n & 7, level: SEVERITIES[n & 7] ?? null };
};

const TIME_KEYS = ['time', 'timestamp', '@timestamp', 'ts', 'date', 'datetime', 'eventTime'];
const LEVEL_KEYS = ['level', 'severity', 'lvl', 'levelname', 'log.level', 'loglevel'];
const MESSAGE_KEYS = ['message', 'msg', 'text', 'log', 'event'];

const jsonTimeUs = (value: unknown): number | null => {
  if (typeof value === 'string') return isoTimeUs(value);
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Seconds, milliseconds or microseconds since the epoch, told apart by size.
    if (value < 1e11) return Math.round(value * 1e6);
    if (value < 1e14) return Math.round(value * 1e3);
    return Math.round(value);
  }
  return null;
};

const firstKey = (record: Record<string, unknown>, keys: readonly string[]): unknown => {
  for (const key of keys) if (record[key] !== undefined) return record[key];
  return undefined;
};

export const LOG_FORMATS: readonly LogFormatSpec[] = [
  {
    format: 'json',
    description: 'JSON lines',
    columns: [
      { name: 'level', type: 'VARCHAR' },
      { name: 'message', type: 'VARCHAR' },
      { name: 'fields', type: 'VARCHAR' },
    ],
    parse(line) {
      if (line.charCodeAt(0) !== 123) return undefined;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        return undefined;
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
      const r = record as Record<string, unknown>;
      const level = levelOf(firstKey(r, LEVEL_KEYS));
      const rawMessage = firstKey(r, MESSAGE_KEYS);
      const message =
        typeof rawMessage === 'string'
          ? rawMessage
          : rawMessage === undefined
            ? ''
            : JSON.stringify(rawMessage);
      return {
        timeUs: jsonTimeUs(firstKey(r, TIME_KEYS)),
        level,
        message,
        values: [level, message, line],
      };
    },
  },
  {
    format: 'combined',
    description: 'nginx/Apache combined access log',
    columns: [
      ...ACCESS_COLUMNS,
      { name: 'referer', type: 'VARCHAR' },
      { name: 'user_agent', type: 'VARCHAR' },
    ],
    parse(line) {
      const m = COMBINED.exec(line);
      return m ? accessLine(m, true) : undefined;
    },
  },
  {
    format: 'common',
    description: 'nginx/Apache common access log',
    columns: ACCESS_COLUMNS,
    parse(line) {
      const m = COMMON.exec(line);
      return m ? accessLine(m, false) : undefined;
    },
  },
  {
    format: 'syslog-rfc5424',
    description: 'syslog (RFC 5424)',
    columns: [
      { name: 'level', type: 'VARCHAR' },
      { name: 'facility', type: 'INTEGER' },
      { name: 'severity', type: 'INTEGER' },
      { name: 'hostname', type: 'VARCHAR' },
      { name: 'app_name', type: 'VARCHAR' },
      { name: 'proc_id', type: 'VARCHAR' },
      { name: 'msg_id', type: 'VARCHAR' },
      { name: 'structured_data', type: 'VARCHAR' },
      { name: 'message', type: 'VARCHAR' },
    ],
    parse(line) {
      const m = RFC5424.exec(line);
      if (!m) return undefined;
      const p = priority(m[1]);
      if (p.level === null) return undefined;
      const timeUs = m[3] === '-' ? null : isoTimeUs(m[3] as string);
      if (m[3] !== '-' && timeUs === null) return undefined;
      const message = (m[9] ?? '').replace(/^\uFEFF/, '');
      return {
        timeUs,
        level: p.level,
        message,
        values: [
          p.level,
          p.facility,
          p.severity,
          dash(m[4]),
          dash(m[5]),
          dash(m[6]),
          dash(m[7]),
          dash(m[8]),
          message,
        ],
      };
    },
  },
  {
    format: 'syslog-rfc3164',
    description: 'syslog (RFC 3164)',
    columns: [
      { name: 'level', type: 'VARCHAR' },
      { name: 'facility', type: 'INTEGER' },
      { name: 'severity', type: 'INTEGER' },
      { name: 'hostname', type: 'VARCHAR' },
      { name: 'app_name', type: 'VARCHAR' },
      { name: 'proc_id', type: 'VARCHAR' },
      { name: 'message', type: 'VARCHAR' },
    ],
    parse(line, context) {
      const m = RFC3164.exec(line);
      if (!m) return undefined;
      const month = MONTHS[m[2] as string];
      if (month === undefined) return undefined;
      const p = priority(m[1]);
      // No year in the line: the upload's, or the year before for a date after the upload.
      const reference = new Date(context.referenceTimeUs / 1000);
      let year = reference.getUTCFullYear();
      const at = (y: number): number =>
        Date.UTC(y, month, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
      if (at(year) > reference.getTime() + 86_400_000) year--;
      const message = m[10] as string;
      return {
        timeUs: at(year) * 1000,
        level: p.level,
        message,
        values: [
          p.level,
          p.facility,
          p.severity,
          m[7] as string,
          m[8] as string,
          m[9] ?? null,
          message,
        ],
      };
    },
  },
  {
    format: 'text',
    description: '"timestamp level message" text',
    columns: [
      { name: 'level', type: 'VARCHAR' },
      { name: 'message', type: 'VARCHAR' },
    ],
    parse(line) {
      const m = TEXT.exec(line);
      if (!m) return undefined;
      const timeUs = isoTimeUs(m[1] as string);
      if (timeUs === null) return undefined;
      const level = levelOf(m[2]);
      const message = m[3] as string;
      return { timeUs, level, message, values: [level, message] };
    },
  },
];
