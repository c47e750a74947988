/** Streaming JSON records: one object per line (NDJSON), or the elements of one top-level array. */

export interface JsonRecordOptions {
  /** Longest line or array element kept; longer ones are reported malformed and skipped. */
  readonly maxRecordChars: number;
  readonly onRecord: (record: Record<string, unknown>, line: number) => void;
  readonly onMalformed: (line: number, reason: string) => void;
}

export interface RecordReader {
  push(text: string): void;
  end(): void;
}

const describeError = (error: unknown): string =>
  error instanceof Error ? error.message.replace(/ in JSON at position \d+.*$/, '') : String(error);

const deliver = (text: string, line: number, options: JsonRecordOptions): void => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    options.onMalformed(line, `not valid JSON (${describeError(error)})`);
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    options.onMalformed(
      line,
      `a JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, not an object`,
    );
    return;
  }
  options.onRecord(value as Record<string, unknown>, line);
};

/** NDJSON: every non-blank line is one object. */
export class NdjsonRecordReader implements RecordReader {
  private carry = '';
  private line = 1;
  private skipping = false;

  constructor(private readonly options: JsonRecordOptions) {}

  push(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) {
        if (!this.skipping) {
          this.carry += text.slice(start);
          if (this.carry.length > this.options.maxRecordChars) {
            this.tooLong();
            this.skipping = true;
            this.carry = '';
          }
        }
        return;
      }
      if (this.skipping) {
        this.skipping = false;
      } else {
        const piece = this.carry + text.slice(start, nl);
        this.carry = '';
        this.take(piece);
      }
      this.line++;
      start = nl + 1;
    }
  }

  end(): void {
    if (!this.skipping && this.carry.length > 0) this.take(this.carry);
    this.carry = '';
  }

  private tooLong(): void {
    this.options.onMalformed(
      this.line,
      `the line is longer than ${this.options.maxRecordChars} characters; it was skipped`,
    );
  }

  private take(piece: string): void {
    const line = piece.endsWith('\r') ? piece.slice(0, -1) : piece;
    if (line.trim() === '') return;
    if (line.length > this.options.maxRecordChars) {
      this.tooLong();
      return;
    }
    deliver(line, this.line, this.options);
  }
}

/**
 * A top-level JSON array of objects, element by element: the scanner follows strings and nesting
 * only to find where each element ends, then parses that element alone.
 */
export class JsonArrayRecordReader implements RecordReader {
  private buf = '';
  private i = 0;
  private elementStart = -1;
  private elementLine = 1;
  private line = 1;
  private depth = 0;
  private inString = false;
  private state: 'before' | 'elements' | 'after' = 'before';

  constructor(private readonly options: JsonRecordOptions) {}

  push(text: string): void {
    const keepFrom = this.elementStart >= 0 ? this.elementStart : this.i;
    this.buf = this.buf.slice(keepFrom) + text;
    this.i -= keepFrom;
    if (this.elementStart >= 0) this.elementStart = 0;
    this.scan();
  }

  end(): void {
    this.scan();
    if (this.state === 'before') {
      this.options.onMalformed(this.line, 'the JSON array is empty or missing');
    } else if (this.state === 'elements') {
      this.options.onMalformed(
        this.elementStart >= 0 ? this.elementLine : this.line,
        'the JSON array is not closed (the file ends inside it)',
      );
    }
  }

  private scan(): void {
    const buf = this.buf;
    while (this.i < buf.length) {
      const c = buf.charCodeAt(this.i);
      if (this.inString) {
        const q = buf.indexOf('"', this.i);
        if (q < 0) {
          this.i = buf.length;
          break;
        }
        let backslashes = 0;
        for (let k = q - 1; buf.charCodeAt(k) === 92; k--) backslashes++;
        this.i = q + 1;
        if (backslashes % 2 === 0) this.inString = false;
        continue;
      }
      this.i++;
      if (c === 10) this.line++;
      if (this.state === 'before') {
        if (c === 91) this.state = 'elements';
        else if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) {
          this.options.onMalformed(this.line, 'the file does not start with a JSON array');
          this.state = 'after';
        }
        continue;
      }
      if (this.state === 'after') continue;
      if (c === 34) {
        this.inString = true;
        this.begin();
      } else if (c === 123 || c === 91) {
        this.begin();
        this.depth++;
      } else if (c === 125 || c === 93) {
        if (this.depth === 0 && c === 93) {
          this.finish(this.i - 1);
          this.state = 'after';
        } else {
          this.depth--;
        }
      } else if (c === 44 && this.depth === 0) {
        this.finish(this.i - 1);
      } else if (c !== 32 && c !== 9 && c !== 10 && c !== 13) {
        this.begin();
      }
      if (this.elementStart >= 0 && this.i - this.elementStart > this.options.maxRecordChars) {
        this.options.onMalformed(
          this.elementLine,
          `an array element is longer than ${this.options.maxRecordChars} characters; reading stopped`,
        );
        this.state = 'after';
        this.elementStart = -1;
      }
    }
  }

  private begin(): void {
    if (this.elementStart < 0) {
      this.elementStart = this.i - 1;
      this.elementLine = this.line;
    }
  }

  private finish(end: number): void {
    if (this.elementStart < 0) return;
    const text = this.buf.slice(this.elementStart, end);
    this.elementStart = -1;
    deliver(text, this.elementLine, this.options);
  }
}
