import { createHash } from 'node:crypto';
import type { SniffedType } from '../domain/content-types.ts';
import { PROCESSABLE_IMAGE_TYPES } from '../domain/content-types.ts';
import { SNIFF_BYTES, sniff } from './sniff.ts';

export interface ReadLimits {
  /** Largest image kept in memory for decoding; bigger images are hashed but not decoded. */
  readonly maxImageBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxImageBytes: 64 * 1024 * 1024 };

export interface ObjectContent {
  readonly size: number;
  /** Lower-case hex SHA-256 of every byte read. */
  readonly sha256: string;
  readonly sniffed: SniffedType;
  /** The whole object, kept only for a processable image within `maxImageBytes`. */
  readonly image?: Buffer;
  /** True when an image was too large to keep. */
  readonly imageTooLarge: boolean;
}

/**
 * Reads an object's body once: hashes and counts every chunk, sniffs the first bytes, and keeps the
 * bytes in memory only when they are an image small enough to decode. Anything else streams
 * through in constant memory, whatever its size.
 *
 * @param expectedSize the object's length when known (S3's ContentLength): lets an image be
 *   copied into one buffer of the right size instead of a list of chunks plus a final copy.
 */
export const readObject = async (
  body: AsyncIterable<Uint8Array>,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
  expectedSize?: number,
): Promise<ObjectContent> => {
  const hash = createHash('sha256');
  let size = 0;
  let head: Buffer = Buffer.alloc(0);
  let sniffed: SniffedType | undefined;
  let keep = false;
  let imageTooLarge = false;
  let buffer: Buffer | undefined;
  let chunks: Buffer[] = [];

  const decide = (): void => {
    sniffed = sniff(head);
    keep = PROCESSABLE_IMAGE_TYPES.includes(sniffed.mime);
    if (keep && expectedSize !== undefined) {
      if (expectedSize > limits.maxImageBytes) {
        keep = false;
        imageTooLarge = true;
      } else {
        buffer = Buffer.allocUnsafe(expectedSize);
      }
    }
  };
  const store = (chunk: Buffer, from: number): void => {
    if (!keep) return;
    if (from + chunk.length > limits.maxImageBytes) {
      keep = false;
      imageTooLarge = true;
      buffer = undefined;
      chunks = [];
      return;
    }
    if (buffer !== undefined && from + chunk.length <= buffer.length) {
      chunk.copy(buffer, from);
    } else {
      // The object is longer than announced: fall back to collecting chunks.
      if (buffer !== undefined) {
        chunks = [buffer.subarray(0, from)];
        buffer = undefined;
      }
      chunks.push(chunk);
    }
  };

  for await (const part of body) {
    const chunk = Buffer.isBuffer(part)
      ? part
      : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    hash.update(chunk);
    const from = size;
    size += chunk.length;
    if (sniffed === undefined) {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.length < SNIFF_BYTES) continue;
      decide();
      store(head, 0);
      head = head.subarray(0, SNIFF_BYTES);
      continue;
    }
    store(chunk, from);
  }
  if (sniffed === undefined) {
    decide();
    store(head, 0);
  }

  let image: Buffer | undefined;
  if (keep) {
    image = buffer !== undefined ? buffer.subarray(0, size) : Buffer.concat(chunks, size);
  }
  return {
    size,
    sha256: hash.digest('hex'),
    sniffed: sniffed ?? sniff(head),
    ...(image !== undefined && { image }),
    imageTooLarge,
  };
};
