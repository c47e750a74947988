import { describeError } from './errors.ts';

/**
 * Where a command's words go. Data (results, tables, JSON) to stdout; progress, notes and
 * errors to stderr, so `syncflow ls --json | jq` and `2>/dev/null` both do what a user expects.
 * No colour when stderr is not a terminal, with NO_COLOR or TERM=dumb; no animation when
 * stderr is not a terminal.
 */
export class Output {
  readonly json: boolean;
  readonly interactive: boolean;
  readonly colour: boolean;
  /** Lines that must not be torn by a progress display (it sets this while it draws). */
  private redirect: ((line: string) => void) | undefined;

  constructor(
    options: { json: boolean; quiet?: boolean; colour?: boolean },
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.json = options.json;
    this.quiet = options.quiet ?? false;
    const terminal = Boolean(stderr.isTTY) && env.TERM !== 'dumb';
    this.interactive = terminal && !this.json && !this.quiet;
    this.colour = terminal && options.colour !== false && env.NO_COLOR === undefined && !this.json;
  }

  readonly quiet: boolean;

  /** Whether stdout shows on the same terminal as the progress display. */
  get stdoutIsTerminal(): boolean {
    return Boolean(this.stdout.isTTY);
  }

  /** Routes data lines through a progress display while it is drawn (it clears, prints, redraws). */
  divert(writer: ((line: string) => void) | undefined): void {
    this.redirect = writer;
  }

  /** One line of data. */
  data(line: string): void {
    if (this.redirect && this.stdoutIsTerminal) this.redirect(line);
    else this.stdout.write(`${line}\n`);
  }

  /** One `{result}` envelope, on one line. */
  result(value: unknown): void {
    this.stdout.write(`${JSON.stringify({ result: value })}\n`);
  }

  /** One `{error}` envelope, on one line, with whatever names what failed (a path, a file id). */
  error(error: unknown, extra: Record<string, unknown> = {}): void {
    const described =
      typeof error === 'object' && error !== null && !(error instanceof Error) && 'code' in error
        ? (error as { code: string; message: string })
        : describeError(error);
    const { code, message } = described;
    this.stdout.write(`${JSON.stringify({ error: { code, message, ...extra } })}\n`);
  }

  /** A note for the person at the terminal (stderr); --quiet keeps only warnings. */
  note(message: string): void {
    if (this.quiet) return;
    if (this.redirect) this.redirect(message);
    else this.stderr.write(`${message}\n`);
  }

  /** A warning or error for the person (stderr), always shown. */
  warn(message: string): void {
    if (this.redirect) this.redirect(message);
    else this.stderr.write(`${message}\n`);
  }

  /** Text styled when colour is on. */
  paint(text: string, style: 'green' | 'red' | 'yellow' | 'dim' | 'bold'): string {
    if (!this.colour) return text;
    const codes = { green: [32, 39], red: [31, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] };
    const [open, close] = codes[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  get errorStream(): NodeJS.WriteStream {
    return this.stderr;
  }
}

/** Bytes as a person reads them: 1.5 MB, 320 kB (decimal units, as `ls -h --si` and browsers). */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
};

/** Seconds as m:ss or h:mm:ss. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
};

/** Rows as aligned columns (the last column is not padded). */
export const table = (
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
};
