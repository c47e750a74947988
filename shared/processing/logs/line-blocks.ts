import { LineEnds } from '../text-input.ts';

/** Whole lines of a block of a log, as {@link LineBlockCutter} cuts them. */
export interface LineBlock {
  /** The lines joined by `\n` (no line end after the last). */
  readonly text: string;
  /** How many lines it holds: one more than its `\n`s. */
  readonly lines: number;
}

const countLines = (text: string): number => {
  let lines = 1;
  for (let k = text.indexOf('\n'); k >= 0; k = text.indexOf('\n', k + 1)) lines++;
  return lines;
};

/**
 * Cuts decoded text into blocks of whole lines, without making a string of each line: `\r\n`,
 * `\n` and a lone `\r` all end a line, so files with mixed line endings read the same; a line
 * past `maxLineChars` is cut there and the rest of it dropped while it is still coming, so one
 * endless line cannot exhaust memory. A last line without an ending is a line too; the file's
 * last line end makes no empty line after it.
 */
export class LineBlockCutter {
  private pieces: string[] = [];
  private piecesLength = 0;
  private readonly lineEnds = new LineEnds();
  private dropping = false;

  constructor(
    private readonly blockChars: number,
    private readonly maxLineChars: number,
  ) {}

  /** Adds the next piece of text; returns the blocks it completes (usually none or one). */
  push(chunk: string): LineBlock[] {
    let t = this.lineEnds.push(chunk);
    if (this.dropping) {
      const nl = t.indexOf('\n');
      if (nl < 0) return [];
      this.dropping = false;
      t = t.slice(nl);
    }
    if (t.length > 0) {
      this.pieces.push(t);
      this.piecesLength += t.length;
    }
    if (this.piecesLength < this.blockChars) return [];
    // Chunks are joined once a block is full: appending each to one string would copy it again
    // for every chunk.
    const pending = this.pieces.join('');
    const cut = pending.lastIndexOf('\n') + 1;
    let rest = pending.slice(cut);
    if (rest.length > this.maxLineChars) {
      rest = rest.slice(0, this.maxLineChars);
      this.dropping = true;
    }
    this.pieces = rest.length > 0 ? [rest] : [];
    this.piecesLength = rest.length;
    if (cut === 0) return [];
    const text = pending.slice(0, cut - 1);
    return [{ text, lines: countLines(text) }];
  }

  /** The text left after the last push, as the last block (none when there is no text). */
  end(): LineBlock[] {
    let text = this.pieces.join('');
    const rest = this.lineEnds.end();
    if (!this.dropping) text += rest;
    this.pieces = [];
    this.piecesLength = 0;
    this.dropping = false;
    if (text.length === 0) return [];
    if (text.charCodeAt(text.length - 1) === 10) text = text.slice(0, -1);
    return [{ text, lines: countLines(text) }];
  }
}
