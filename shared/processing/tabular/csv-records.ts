/** Streaming CSV/TSV records (RFC 4180 quoting) over decoded text, in bounded memory. */

import { LineEnds } from '../text-input.ts';

/** Where the reader's records go. */
export interface CsvSink {
  /**
   * A record on one line, given as offsets so nothing is cut out of the text unless needed: value
   * k is `text.slice(starts[k], ends[k])`, the record `text.slice(from, to)`, already in the form
   * the spill file keeps (RFC 4180). `quoted` is null when the line has no quote; otherwise
   * `quoted[k]` is 1 for a value written in quotes, whose range is its inside: never null, and
   * `""` in it stands for one quote (see {@link plainFields}). The arrays are reused for the next
   * record.
   */
  plain(
    text: string,
    from: number,
    to: number,
    starts: Int32Array,
    ends: Int32Array,
    count: number,
    line: number,
    quoted: Uint8Array | null,
  ): void;
  /**
   * A record whose quotes the one-line reading could not take (a value over several lines, a
   * quote inside an unquoted value, text after a closing quote); `null` for an unquoted empty
   * value or null marker.
   */
  quoted(fields: (string | null)[], line: number): void;
  malformed(line: number, reason: string): void;
}

export interface CsvReaderOptions {
  readonly delimiter: string;
  /** Longest record kept while looking for its end; longer ones are reported malformed. */
  readonly maxRecordChars: number;
}

const QUOTE = 34;
const NL = 10;

/** Unquoted values that mean "no value". A quoted `"NULL"` stays the text NULL. */
export const NULL_MARKERS: readonly string[] = ['', 'NULL', 'null', '\\N'];
const isNullMarker = (v: string): boolean =>
  v.length === 0 || ((v.length === 4 || v.length === 2) && NULL_MARKERS.includes(v));

/** {@link isNullMarker} for `text[a..b)`. */
export const isNullRange = (text: string, a: number, b: number): boolean => {
  const n = b - a;
  if (n === 0) return true;
  if (n === 2) return text.charCodeAt(a) === 92 && text.charCodeAt(a + 1) === 78;
  if (n !== 4) return false;
  const c = text.charCodeAt(a);
  return (c === 78 || c === 110) && NULL_MARKERS.includes(text.slice(a, b));
};

/** The values of a one-line record (see {@link CsvSink.plain}) as strings and nulls. */
export const plainFields = (
  text: string,
  starts: Int32Array,
  ends: Int32Array,
  count: number,
  quoted: Uint8Array | null = null,
): (string | null)[] => {
  const fields: (string | null)[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const a = starts[k] as number;
    const b = ends[k] as number;
    if (quoted !== null && quoted[k] === 1) {
      const inside = text.slice(a, b);
      fields[k] = inside.includes('"') ? inside.replaceAll('""', '"') : inside;
    } else {
      fields[k] = isNullRange(text, a, b) ? null : text.slice(a, b);
    }
  }
  return fields;
};

/** Scan state of a record that contains quotes, kept across pushes so no text is scanned twice. */
interface QuotedScan {
  fields: (string | null)[];
  /** Text of the current value gathered from earlier pieces. */
  cur: string;
  /** Where the current value's not yet gathered piece starts (index into the buffer). */
  segStart: number;
  quoted: boolean;
  inQuote: boolean;
  i: number;
}

const charsText = (n: number): string =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(0)} Mi characters` : `${n} characters`;

/** Why a line past the record limit was skipped, wherever it is found to be too long. */
export const lineTooLong = (max: number): string =>
  `the line is longer than ${charsText(max)}; it was skipped`;

/**
 * A push parser: `push` decoded text as it arrives, `end` once. Records without quotes take a fast
 * path (`split`); quoted ones a resumable scanner, so a value spread over many chunks is scanned
 * once. Line endings `\r\n`, `\n` and a lone `\r` are all accepted, also mixed in one file. A quote
 * left open is reported on the line it was opened on, and reading resumes on the next line, so one
 * stray quote costs one row, not the rest of the file.
 */
export class CsvRecordReader {
  private buf = '';
  private pos = 0;
  private line = 1;
  private readonly lineEnds = new LineEnds();
  private skipping = false;
  private scan: QuotedScan | undefined;
  private nextQuote = -1;
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  private quotedFlags = new Uint8Array(64);
  private readonly delimiter: string;
  private readonly delimiterCode: number;

  constructor(
    private readonly options: CsvReaderOptions,
    private readonly sink: CsvSink,
  ) {
    this.delimiter = options.delimiter;
    this.delimiterCode = options.delimiter.charCodeAt(0);
  }

  push(text: string): void {
    let t = this.lineEnds.push(text);
    if (this.skipping) {
      const nl = t.indexOf('\n');
      if (nl < 0) return;
      this.skipping = false;
      this.line++;
      t = t.slice(nl + 1);
    }
    if (this.pos > 0) {
      this.rebase(this.pos);
    }
    this.buf = this.buf.length === 0 ? t : this.buf + t;
    this.nextQuote = -1;
    this.drain(false);
  }

  end(): void {
    const rest = this.lineEnds.end();
    if (this.skipping) return;
    this.buf += rest;
    this.nextQuote = -1;
    this.drain(true);
    this.buf = '';
    this.pos = 0;
  }

  /** Drops the consumed start of the buffer, moving a quoted scan's indices along. */
  private rebase(by: number): void {
    this.buf = this.buf.slice(by);
    this.pos -= by;
    if (this.scan) {
      this.scan.segStart -= by;
      this.scan.i -= by;
    }
  }

  private drain(final: boolean): void {
    const buf = this.buf;
    const max = this.options.maxRecordChars;
    while (this.pos < buf.length) {
      if (this.scan === undefined) {
        const nl = buf.indexOf('\n', this.pos);
        const end = nl < 0 ? buf.length : nl;
        if (this.nextQuote >= 0 && this.nextQuote < this.pos) this.nextQuote = -1;
        if (this.nextQuote === -1) {
          const q = buf.indexOf('"', this.pos);
          this.nextQuote = q < 0 ? buf.length : q;
        }
        if (this.nextQuote >= end) {
          if (nl < 0 && !final) {
            if (buf.length - this.pos > max) {
              this.sink.malformed(this.line, lineTooLong(max));
              this.skipping = true;
              this.pos = buf.length;
            }
            return;
          }
          if (end > this.pos) {
            if (end - this.pos > max) {
              this.sink.malformed(this.line, lineTooLong(max));
            } else {
              this.splitPlain(buf, this.pos, end);
            }
          }
          this.line++;
          this.pos = end + 1;
          continue;
        }
        // Most quoted records are one line of well-formed values ("New York, NY"): read in place,
        // they need no copy of their values and stay as written in the spill file.
        if ((nl >= 0 || final) && end - this.pos <= max && this.splitOneLine(buf, this.pos, end)) {
          this.line++;
          this.pos = end + 1;
          continue;
        }
        this.scan = {
          fields: [],
          cur: '',
          segStart: this.pos,
          quoted: false,
          inQuote: false,
          i: this.pos,
        };
      }
      if (!this.scanQuoted(final)) return;
    }
  }

  private grow(): void {
    const count = this.starts.length;
    const starts = new Int32Array(count * 2);
    starts.set(this.starts);
    this.starts = starts;
    const ends = new Int32Array(count * 2);
    ends.set(this.ends);
    this.ends = ends;
    const quoted = new Uint8Array(count * 2);
    quoted.set(this.quotedFlags);
    this.quotedFlags = quoted;
  }

  private splitPlain(buf: string, from: number, to: number): void {
    let count = 0;
    let s = from;
    const delimiter = this.delimiter;
    for (;;) {
      if (count === this.starts.length) this.grow();
      const d = buf.indexOf(delimiter, s);
      this.starts[count] = s;
      if (d < 0 || d >= to) {
        this.ends[count++] = to;
        break;
      }
      this.ends[count++] = d;
      s = d + 1;
    }
    this.sink.plain(buf, from, to, this.starts, this.ends, count, this.line, null);
  }

  /**
   * Reads the line `buf[from..to)`, which has a quote, when each value is either unquoted without
   * a quote or wholly quoted (`""` inside for a quote, the closing quote followed by the delimiter
   * or the line's end), and hands it to the sink's `plain`. False for any other line, which the
   * quoted scanner then reads (and reports if malformed).
   */
  private splitOneLine(buf: string, from: number, to: number): boolean {
    let count = 0;
    let s = from;
    let nextQuote = buf.indexOf('"', from);
    const delimiter = this.delimiter;
    const delimiterCode = this.delimiterCode;
    for (;;) {
      if (count === this.starts.length) this.grow();
      if (s < to && buf.charCodeAt(s) === QUOTE) {
        let i = s + 1;
        let close: number;
        for (;;) {
          close = buf.indexOf('"', i);
          if (close < 0 || close >= to) return false;
          if (buf.charCodeAt(close + 1) !== QUOTE || close + 1 >= to) break;
          i = close + 2;
        }
        this.starts[count] = s + 1;
        this.ends[count] = close;
        this.quotedFlags[count++] = 1;
        const after = close + 1;
        if (after === to) break;
        if (buf.charCodeAt(after) !== delimiterCode) return false;
        s = after + 1;
        nextQuote = buf.indexOf('"', s);
        continue;
      }
      const d = buf.indexOf(delimiter, s);
      const e = d < 0 || d >= to ? to : d;
      if (nextQuote >= 0 && nextQuote < e) return false;
      this.starts[count] = s;
      this.ends[count] = e;
      this.quotedFlags[count++] = 0;
      if (e === to) break;
      s = e + 1;
    }
    this.sink.plain(buf, from, to, this.starts, this.ends, count, this.line, this.quotedFlags);
    return true;
  }

  /** Continues the quoted scan; true when a record was finished (or given up) and `pos` moved. */
  private scanQuoted(final: boolean): boolean {
    const s = this.scan as QuotedScan;
    const buf = this.buf;
    const d = this.delimiterCode;
    const start = this.pos;
    const max = this.options.maxRecordChars;
    while (s.i < buf.length) {
      if (s.i - start > max) break;
      if (s.inQuote) {
        const q = buf.indexOf('"', s.i);
        if (q < 0) {
          s.i = buf.length;
          break;
        }
        if (q + 1 >= buf.length && !final) {
          s.i = q;
          return false;
        }
        if (buf.charCodeAt(q + 1) === QUOTE) {
          s.cur += buf.slice(s.segStart, q + 1);
          s.i = q + 2;
          s.segStart = s.i;
        } else {
          s.cur += buf.slice(s.segStart, q);
          s.inQuote = false;
          s.i = q + 1;
          s.segStart = s.i;
        }
        continue;
      }
      const c = buf.charCodeAt(s.i);
      if (c === d) {
        this.endField(s, s.i);
        s.i++;
      } else if (c === NL) {
        this.endField(s, s.i);
        this.finishRecord(start, s.i, s.fields);
        return true;
      } else if (c === QUOTE && s.i === s.segStart && s.cur.length === 0 && !s.quoted) {
        s.inQuote = true;
        s.quoted = true;
        s.i++;
        s.segStart = s.i;
      } else {
        s.i++;
      }
    }
    if (s.i - start > max) {
      this.giveUp(
        start,
        `a quoted value opened on this line runs past ${charsText(max)} (a quote left open?)`,
      );
      return true;
    }
    if (!final) return false;
    if (s.inQuote) {
      this.giveUp(start, 'a quote opened on this line is never closed');
      return true;
    }
    this.endField(s, buf.length);
    this.finishRecord(start, buf.length, s.fields);
    return true;
  }

  private endField(s: QuotedScan, at: number): void {
    const piece = this.buf.slice(s.segStart, at);
    const value = s.cur.length === 0 ? piece : s.cur + piece;
    s.fields.push(!s.quoted && isNullMarker(value) ? null : value);
    s.cur = '';
    s.quoted = false;
    s.segStart = at + 1;
  }

  private finishRecord(start: number, end: number, fields: (string | null)[]): void {
    const line = this.line;
    let newlines = 0;
    for (
      let k = this.buf.indexOf('\n', start);
      k >= 0 && k < end;
      k = this.buf.indexOf('\n', k + 1)
    )
      newlines++;
    this.sink.quoted(fields, line);
    this.line += newlines + 1;
    this.pos = end + 1;
    this.scan = undefined;
  }

  /** Reports the record malformed and resumes reading on the line after its first. */
  private giveUp(start: number, reason: string): void {
    this.sink.malformed(this.line, reason);
    this.scan = undefined;
    const nl = this.buf.indexOf('\n', start);
    this.line++;
    if (nl < 0) {
      this.pos = this.buf.length;
      this.skipping = true;
    } else {
      this.pos = nl + 1;
    }
  }
}

/** Writes one value for the spill file's dialect: null as nothing, anything else quoted. */
export const quoteCsv = (value: string | null): string =>
  value === null ? '' : `"${value.includes('"') ? value.replaceAll('"', '""') : value}"`;
