/**
 * The column types a tabular file is inferred to have, how a value is classified, and how a
 * column's values add up to one type. Pure functions: the hot loop of the inference pass.
 */

export type ColumnType =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'integer' }
  | { readonly kind: 'double' }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'date' }
  | { readonly kind: 'timestamp'; readonly withZone: boolean }
  | { readonly kind: 'string' };

/** Values with more fractional digits than this are measurements (double), not amounts. */
export const MAX_DECIMAL_SCALE = 6;
/** Parquet's and Athena's largest decimal precision. */
export const MAX_DECIMAL_PRECISION = 38;

// What one column has seen, as bits: the type is decided once the whole file was read.
const BOOL = 1;
const INT = 2;
const DEC = 4;
const DBL = 8;
const DATE = 16;
const TS = 32;
const TSTZ = 64;
const STR = 128;
/** The evidence bit of a column that has seen text: no later value can change its type. */
export const TEXT_SEEN = STR;
/** An integer too long for a 64-bit integer: it can only be a decimal. */
const BIGINT = 256;

/** A column's running evidence. Mutated in place by {@link observe} for speed. */
export interface ColumnEvidence {
  seen: number;
  nulls: number;
  values: number;
  intDigits: number;
  scale: number;
}

export const newEvidence = (): ColumnEvidence => ({
  seen: 0,
  nulls: 0,
  values: 0,
  intDigits: 0,
  scale: 0,
});

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Character codes of one value: bytes of ASCII-compatible text, or a string's ASCII copied. */
type Codes = Uint8Array;

const twoDigits = (v: Codes, at: number): number =>
  ((v[at] as number) - 48) * 10 + ((v[at + 1] as number) - 48);

const digitAt = (v: Codes, at: number): boolean => isDigit(v[at] as number);

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD` with a real month and day, at `v[a..a+10)`. */
const isIsoDate = (v: Codes, a: number): boolean => {
  if (v[a + 4] !== 45 || v[a + 7] !== 45) return false;
  if (!digitAt(v, a) || !digitAt(v, a + 1) || !digitAt(v, a + 2) || !digitAt(v, a + 3))
    return false;
  if (!digitAt(v, a + 5) || !digitAt(v, a + 6) || !digitAt(v, a + 8) || !digitAt(v, a + 9))
    return false;
  const month = twoDigits(v, a + 5);
  const day = twoDigits(v, a + 8);
  if (month < 1 || month > 12 || day < 1) return false;
  if (day > (DAYS_IN_MONTH[month - 1] ?? 0)) return false;
  if (month === 2 && day === 29) {
    const year = twoDigits(v, a) * 100 + twoDigits(v, a + 2);
    if (!(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  }
  return true;
};

/**
 * After the date: `[T ]HH:MM[:SS[.f{1,6}]]`, or `[T ]HH:MM:SS[.f{1,6}](Z|±HH[[:]MM])` with a zone
 * (seconds required there, as DuckDB's cast requires them). Returns TS, TSTZ or 0. Six fractional
 * digits at most: Parquet timestamps here are microseconds, and a longer fraction would be cut.
 */
const timeKind = (v: Codes, a: number, end: number): number => {
  const sep = v[a + 10];
  if (sep !== 84 && sep !== 32) return 0;
  if (end - a < 16 || v[a + 13] !== 58) return 0;
  if (!digitAt(v, a + 11) || !digitAt(v, a + 12)) return 0;
  if (!digitAt(v, a + 14) || !digitAt(v, a + 15)) return 0;
  if (twoDigits(v, a + 11) > 23 || twoDigits(v, a + 14) > 59) return 0;
  let i = a + 16;
  if (i < end && v[i] === 58) {
    if (i + 2 >= end || !digitAt(v, i + 1) || !digitAt(v, i + 2)) return 0;
    if (twoDigits(v, i + 1) > 59) return 0;
    i += 3;
    if (i < end && v[i] === 46) {
      let digits = 0;
      i++;
      while (i < end && digitAt(v, i)) {
        i++;
        digits++;
      }
      if (digits === 0 || digits > 6) return 0;
    }
  }
  if (i === end) return TS;
  if (i === a + 16) return 0;
  const z = v[i];
  if (z === 90 && i + 1 === end) return TSTZ;
  if (z !== 43 && z !== 45) return 0;
  // ±HH, ±HHMM or ±HH:MM
  const rest = end - i - 1;
  if (rest < 2 || !digitAt(v, i + 1) || !digitAt(v, i + 2)) return 0;
  if (twoDigits(v, i + 1) > 14) return 0;
  if (rest === 2) return TSTZ;
  const m = v[i + 3] === 58 ? i + 4 : i + 3;
  if (end - m !== 2 || !digitAt(v, m) || !digitAt(v, m + 1)) return 0;
  return twoDigits(v, m) > 59 ? 0 : TSTZ;
};

/**
 * Adds one non-null text value to a column's evidence. Numbers: `-?\d+(\.\d+)?([eE][+-]?\d+)?`,
 * with no leading zero on a whole part longer than one digit (`007` is a code, not 7); booleans
 * `true`/`false` in any case; ISO 8601 dates and timestamps. Anything else makes the column a
 * string column, after which its values are no longer looked at.
 */
export const observe = (e: ColumnEvidence, v: string): void => observeRange(e, v, 0, v.length);

/** ASCII copies of string values for {@link observeBytes}: every typed value is ASCII. */
let scratch = new Uint8Array(256);

/** {@link observe} for the value `text[a..end)`, so the reader need not cut it out first. */
export const observeRange = (e: ColumnEvidence, v: string, a: number, end: number): void => {
  if ((e.seen & STR) !== 0) {
    e.values++;
    return;
  }
  const n = end - a;
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  const codes = scratch;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(a + i);
    // No number, boolean, date or timestamp has a character past ASCII.
    if (c > 127) {
      e.values++;
      e.seen |= STR;
      return;
    }
    codes[i] = c;
  }
  observeBytes(e, codes, 0, n);
};

/**
 * {@link observe} for the value `v[a..end)` of ASCII-compatible bytes (UTF-8 or Latin-1): a byte
 * past ASCII can only be part of text.
 */
export const observeBytes = (e: ColumnEvidence, v: Codes, a: number, end: number): void => {
  e.values++;
  if ((e.seen & STR) !== 0) return;
  const n = end;
  const c0 = a < n ? (v[a] as number) : -1;
  if (isDigit(c0) || (c0 === 45 && n - a > 1)) {
    if (n - a >= 10 && c0 !== 45 && v[a + 4] === 45) {
      if (isIsoDate(v, a)) {
        if (n - a === 10) {
          e.seen |= DATE;
          return;
        }
        const t = timeKind(v, a, end);
        if (t !== 0) {
          e.seen |= t;
          return;
        }
      }
      e.seen |= STR;
      return;
    }
    let i = c0 === 45 ? a + 1 : a;
    const intStart = i;
    while (i < n && digitAt(v, i)) i++;
    const intLength = i - intStart;
    if (intLength === 0 || (intLength > 1 && v[intStart] === 48)) {
      e.seen |= STR;
      return;
    }
    if (i === n) {
      if (intLength > 18) e.seen |= BIGINT;
      else e.seen |= INT;
      if (intLength > e.intDigits) e.intDigits = intLength;
      return;
    }
    let scale = 0;
    if (v[i] === 46) {
      i++;
      const fracStart = i;
      while (i < n && digitAt(v, i)) i++;
      scale = i - fracStart;
      if (scale === 0) {
        e.seen |= STR;
        return;
      }
      if (i === n) {
        if (scale > MAX_DECIMAL_SCALE || intLength + scale > MAX_DECIMAL_PRECISION) {
          e.seen |= DBL;
        } else {
          e.seen |= DEC;
          if (intLength > e.intDigits) e.intDigits = intLength;
          if (scale > e.scale) e.scale = scale;
        }
        return;
      }
    }
    const x = v[i];
    if (x === 101 || x === 69) {
      i++;
      const s = v[i];
      if (i < n && (s === 43 || s === 45)) i++;
      const expStart = i;
      while (i < n && digitAt(v, i)) i++;
      if (i === n && i > expStart) {
        e.seen |= DBL;
        return;
      }
    }
    e.seen |= STR;
    return;
  }
  if (n - a === 4 || n - a === 5) {
    // `true` / `false` in any case: `| 32` lowers an ASCII letter and no other byte gives these.
    const w = n - a === 4 ? TRUE : FALSE;
    let same = true;
    for (let k = 0; k < w.length && same; k++) same = ((v[a + k] as number) | 32) === w[k];
    if (same) {
      e.seen |= BOOL;
      return;
    }
  }
  e.seen |= STR;
};

const TRUE = [116, 114, 117, 101];
const FALSE = [102, 97, 108, 115, 101];

/** Adds a JSON value that is not text: numbers keep the integer/decimal/double distinction. */
export const observeJsonNumber = (e: ColumnEvidence, v: number): void => {
  if (!Number.isFinite(v)) {
    e.values++;
    e.seen |= STR;
    return;
  }
  observe(e, Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v));
};

/** A JSON string value: dates and timestamps are recognised, numbers in quotes stay text. */
export const observeJsonString = (e: ColumnEvidence, v: string): void => {
  const c0 = v.charCodeAt(0);
  if (v.length >= 10 && isDigit(c0) && v.charCodeAt(4) === 45) {
    observe(e, v);
    if ((e.seen & (INT | DEC | DBL | BIGINT)) !== 0) e.seen |= STR;
    return;
  }
  e.values++;
  e.seen |= STR;
};

export const observeBoolean = (e: ColumnEvidence): void => {
  e.values++;
  e.seen |= BOOL;
};

const NUMERIC = INT | DEC | DBL | BIGINT;
const TEMPORAL = DATE | TS | TSTZ;

/**
 * The one type every value of a column fits, from the evidence of the whole file: numbers widen
 * integer → decimal (when exact) → double; dates and timestamps without a zone widen to
 * timestamp; mixing families (a number and a date, a boolean and a number), timestamps with and
 * without a zone, or any other text gives string. A column with no value at all is string.
 */
export const decideType = (e: ColumnEvidence): ColumnType => {
  const s = e.seen;
  if (s === 0 || (s & STR) !== 0) return { kind: 'string' };
  if (s === BOOL) return { kind: 'boolean' };
  if ((s & ~NUMERIC) === 0) {
    if ((s & DBL) !== 0) return { kind: 'double' };
    if (s === INT) return { kind: 'integer' };
    const precision = e.intDigits + e.scale;
    if (precision > MAX_DECIMAL_PRECISION) return { kind: 'double' };
    return { kind: 'decimal', precision: Math.max(precision, 1), scale: e.scale };
  }
  if ((s & ~TEMPORAL) === 0) {
    if (s === DATE) return { kind: 'date' };
    if ((s & TSTZ) !== 0)
      return (s & (TS | DATE)) === 0 ? { kind: 'timestamp', withZone: true } : { kind: 'string' };
    return { kind: 'timestamp', withZone: false };
  }
  return { kind: 'string' };
};

/** The type in DuckDB's SQL, which is also what the Parquet file stores. */
export const duckdbType = (t: ColumnType): string => {
  switch (t.kind) {
    case 'boolean':
      return 'BOOLEAN';
    case 'integer':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'decimal':
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'date':
      return 'DATE';
    case 'timestamp':
      return t.withZone ? 'TIMESTAMPTZ' : 'TIMESTAMP';
    case 'string':
      return 'VARCHAR';
  }
};

/** The type in the Glue catalog (Hive DDL names), as Athena reads the Parquet column. */
export const glueType = (t: ColumnType): string => {
  switch (t.kind) {
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'bigint';
    case 'double':
      return 'double';
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamp';
    case 'string':
      return 'string';
  }
};

export const describeType = (t: ColumnType): string => {
  switch (t.kind) {
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'timestamp':
      return t.withZone ? 'timestamp with time zone' : 'timestamp';
    default:
      return t.kind;
  }
};

export const sameType = (a: ColumnType, b: ColumnType): boolean =>
  describeType(a) === describeType(b);

/**
 * A column name Glue and Athena accept: lower case letters, digits and underscores, not starting
 * with a digit, at most 128 characters, unique within the table (`_2`, `_3` … on repeats).
 */
export const sqlColumnNames = (names: readonly string[]): string[] => {
  const used = new Set<string>();
  return names.map((name, i) => {
    let base = name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 120);
    if (base === '') base = `column_${i + 1}`;
    if (/^[0-9]/.test(base)) base = `c_${base}`;
    let candidate = base;
    for (let k = 2; used.has(candidate); k++) candidate = `${base}_${k}`;
    used.add(candidate);
    return candidate;
  });
};

/** The type {@link describeType} described, or undefined for text it never writes. */
export const parseColumnType = (description: string): ColumnType | undefined => {
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(description);
  if (decimal) return { kind: 'decimal', precision: Number(decimal[1]), scale: Number(decimal[2]) };
  switch (description) {
    case 'boolean':
    case 'integer':
    case 'double':
    case 'date':
    case 'string':
      return { kind: description };
    case 'timestamp':
      return { kind: 'timestamp', withZone: false };
    case 'timestamp with time zone':
      return { kind: 'timestamp', withZone: true };
    default:
      return undefined;
  }
};
