import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { PermanentProcessingError } from '../domain/errors.ts';
import { sniff } from './sniff.ts';

/** The character encodings a text input is read in. */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface TextInputLimits {
  /** Most bytes a gzip-compressed input may inflate to; past it the read stops (a gzip bomb). */
  readonly maxDecompressedBytes: number;
}

export const DEFAULT_TEXT_INPUT_LIMITS: TextInputLimits = {
  maxDecompressedBytes: 8 * 1024 ** 3,
};

/** The input cannot be read as text at all; `message` says why in words for the file's owner. */
export class UnreadableInputError extends PermanentProcessingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableInputError';
  }
}

/**
 * Bytes that are not UTF-8 turned up after the sample the encoding was chosen from. Callers open
 * the body again and read it as windows-1252, which decodes any byte.
 */
export class LateEncodingError extends Error {
  constructor() {
    super('Invalid UTF-8 after the sampled start of the input');
    this.name = 'LateEncodingError';
  }
}

/** How a text input was stored, and its characters. */
export interface TextInput {
  readonly compression: 'gzip' | 'none';
  readonly encoding: TextEncoding;
  readonly byteOrderMark: boolean;
  /** Decoded text in chunks, byte order mark removed. Iterate once, and only this or `utf8Bytes`. */
  readonly text: AsyncIterable<string>;
  /**
   * For UTF-8 only: the bytes that `text` would decode, byte order mark removed, not yet checked
   * past the sample the encoding was chosen from (invalid UTF-8 there is the caller's to find, as
   * {@link LateEncodingError}). Iterate once, and only this or `text`.
   */
  readonly utf8Bytes?: AsyncIterable<Buffer>;
  /** Bytes read from the body so far (compressed bytes for gzip). */
  readonly storedBytes: () => number;
  /** Bytes after decompression so far. */
  readonly decodedBytes: () => number;
}

/** Bytes looked at to choose the encoding and to tell text from binary. */
const SAMPLE_BYTES = 64 * 1024;

const toBuffer = (part: Uint8Array): Buffer =>
  Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);

const formatBytes = (n: number): string =>
  n >= 1024 ** 3
    ? `${(n / 1024 ** 3).toFixed(1)} GiB`
    : n >= 1024 ** 2
      ? `${(n / 1024 ** 2).toFixed(1)} MiB`
      : `${n} bytes`;

/** Reads from an iterator until at least `n` bytes are in hand or it ends. */
export const peek = async (
  iterator: AsyncIterator<Uint8Array>,
  n: number,
): Promise<{ head: Buffer; done: boolean }> => {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const next = await iterator.next();
    if (next.done) return { head: Buffer.concat(parts, length), done: true };
    const chunk = toBuffer(next.value);
    parts.push(chunk);
    length += chunk.length;
  }
  return { head: Buffer.concat(parts, length), done: false };
};

export async function* replay(
  head: Buffer,
  done: boolean,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  if (done) return;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield toBuffer(next.value);
  }
}

async function* inflate(
  compressed: AsyncIterable<Buffer>,
  limit: number,
  counted: (n: number) => void,
): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const source = Readable.from(compressed);
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        throw new UnreadableInputError(
          `The gzip data inflates to more than ${formatBytes(limit)}, the limit for one file; reading stopped there.`,
        );
      }
      counted(chunk.length);
      yield chunk;
    }
  } catch (error) {
    if (error instanceof UnreadableInputError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
      // zlib's words stay in the cause, for the log: the reason is our own sentence.
      throw new UnreadableInputError(
        'The file starts like gzip but is not valid gzip data: it is cut short or damaged.',
        { cause: error },
      );
    }
    throw error;
  } finally {
    source.unpipe(gunzip);
    source.destroy();
    gunzip.destroy();
  }
}

const isValidUtf8Prefix = (sample: Buffer, complete: boolean): boolean => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // A character cut at the end of the sample is fine unless the input ends there.
  for (let trim = 0; trim < (complete ? 1 : 4) && trim <= sample.length; trim++) {
    try {
      decoder.decode(sample.subarray(0, sample.length - trim));
      return true;
    } catch {
      // try once more without a possibly cut last character
    }
  }
  return false;
};

/** Chooses the encoding from the first bytes, or refuses bytes that are not text. */
const chooseEncoding = (
  sample: Buffer,
  complete: boolean,
): { encoding: TextEncoding; bom: number } => {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf)
    return { encoding: 'utf-8', bom: 3 };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  let evenZeros = 0;
  let oddZeros = 0;
  let controls = 0;
  for (let i = 0; i < sample.length; i++) {
    const byte = sample[i] ?? 0;
    if (byte === 0) {
      if (i % 2 === 0) evenZeros++;
      else oddZeros++;
    } else if (byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b) || byte === 0x7f) {
      controls++;
    }
  }
  const pairs = Math.floor(sample.length / 2);
  // Text in UTF-16 without a mark: ASCII characters leave a zero in every other byte.
  if (pairs > 0 && oddZeros > pairs * 0.4 && evenZeros < pairs * 0.05)
    return { encoding: 'utf-16le', bom: 0 };
  if (pairs > 0 && evenZeros > pairs * 0.4 && oddZeros < pairs * 0.05)
    return { encoding: 'utf-16be', bom: 0 };
  const described = sniff(sample);
  // Anything sniff knows by its signature; plain unknown bytes get the test below.
  if (described.kind !== 'text' && described.kind !== 'markup' && described.kind !== 'binary') {
    throw new UnreadableInputError(`The file is ${described.description}, not text.`);
  }
  if (evenZeros + oddZeros > 0 || controls > sample.length * 0.01) {
    throw new UnreadableInputError(
      'The file is binary data, not text (it has zero bytes or control characters).',
    );
  }
  if (isValidUtf8Prefix(sample, complete)) return { encoding: 'utf-8', bom: 0 };
  return { encoding: 'windows-1252', bom: 0 };
};

/**
 * Decodes bytes in `encoding`, skipping the first `skip` (a byte order mark); invalid UTF-8
 * throws {@link LateEncodingError}.
 */
export async function* decodeText(
  bytes: AsyncIterable<Buffer>,
  encoding: TextEncoding,
  skip: number,
): AsyncGenerator<string> {
  const decoder = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
  let first = true;
  for await (const chunk of bytes) {
    const part = first ? chunk.subarray(skip) : chunk;
    first = false;
    let text: string;
    try {
      text = decoder.decode(part, { stream: true });
    } catch {
      throw new LateEncodingError();
    }
    if (text.length > 0) yield text;
  }
  try {
    const tail = decoder.decode();
    if (tail.length > 0) yield tail;
  } catch {
    throw new LateEncodingError();
  }
}

/**
 * Opens a body as text: inflates gzip (stopping past `maxDecompressedBytes`), refuses binary data,
 * and decodes UTF-8 (with or without a byte order mark), UTF-16 (by its mark, or by the zero bytes
 * of ASCII text without one) or, for bytes that are not UTF-8, windows-1252 (a superset of
 * Latin-1). Throws {@link UnreadableInputError} for input that is not text; the text iterator
 * throws it for a gzip bomb, and {@link LateEncodingError} when invalid UTF-8 appears after the
 * sample (open again with `encoding: 'windows-1252'`).
 */
export const openTextInput = async (
  body: AsyncIterable<Uint8Array>,
  limits: TextInputLimits = DEFAULT_TEXT_INPUT_LIMITS,
  forced?: { readonly encoding: TextEncoding },
): Promise<TextInput> => {
  let stored = 0;
  let decoded = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const part of body) {
      stored += part.byteLength;
      yield part;
    }
  }
  const raw = counted()[Symbol.asyncIterator]();
  const first = await peek(raw, 2);
  const gzip = first.head[0] === 0x1f && first.head[1] === 0x8b;
  let bytes: AsyncIterable<Buffer>;
  if (gzip) {
    bytes = inflate(replay(first.head, first.done, raw), limits.maxDecompressedBytes, (n) => {
      decoded += n;
    });
  } else {
    bytes = (async function* () {
      for await (const chunk of replay(first.head, first.done, raw)) {
        decoded += chunk.length;
        yield chunk;
      }
    })();
  }
  const iterator = bytes[Symbol.asyncIterator]();
  const sample = await peek(iterator, SAMPLE_BYTES);
  if (sample.head.length === 0) {
    throw new UnreadableInputError(
      gzip ? 'The file is gzip data that holds nothing.' : 'The file is empty.',
    );
  }
  const chosen = forced
    ? { encoding: forced.encoding, bom: 0 }
    : chooseEncoding(sample.head.subarray(0, SAMPLE_BYTES), sample.done);
  let bom = chosen.bom;
  if (forced && sample.head[0] === 0xef && sample.head[1] === 0xbb && sample.head[2] === 0xbf)
    bom = 3;
  return {
    compression: gzip ? 'gzip' : 'none',
    encoding: chosen.encoding,
    byteOrderMark: bom > 0,
    text: decodeText(replay(sample.head, sample.done, iterator), chosen.encoding, bom),
    ...(chosen.encoding === 'utf-8' && {
      utf8Bytes: replay(sample.head.subarray(bom), sample.done, iterator),
    }),
    storedBytes: () => stored,
    decodedBytes: () => decoded,
  };
};

/**
 * Makes `\r\n` and a lone `\r` into `\n` in text that arrives in pieces, so files with mixed
 * line endings read the same: a `\r` that ends a piece is held back until the next piece shows
 * whether a `\n` follows it.
 */
export class LineEnds {
  private pendingCr = false;

  /** The piece with its line ends made `\n`; `final`: no piece follows (nothing is held back). */
  push(piece: string, final = false): string {
    let t = piece;
    if (this.pendingCr) {
      t = `\r${t}`;
      this.pendingCr = false;
    }
    if (!final && t.charCodeAt(t.length - 1) === 13) {
      this.pendingCr = true;
      t = t.slice(0, -1);
    }
    return t.includes('\r') ? t.replace(/\r\n?/g, '\n') : t;
  }

  /** After the last piece: the line end of a `\r` held back, or nothing. */
  end(): string {
    const rest = this.pendingCr ? '\n' : '';
    this.pendingCr = false;
    return rest;
  }
}
