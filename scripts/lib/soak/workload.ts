import { createHash } from 'node:crypto';
import { makeJpeg, makePng, makePngHeaderOnly } from '../../../test/support/images.ts';

/** What a planned upload should end as, whatever the faults did on the way. */
export type Expected =
  /** An ordinary file, a duplicate, or one whose processor crashed on its first delivery. */
  | 'PROCESSED'
  /** Hostile bytes: REJECTED (or FAILED) with a reason, never PROCESSED. */
  | 'NOT_PROCESSED'
  /** Its processor crashes on every delivery: FAILED, its message in the DLQ. */
  | 'FAILED'
  /** Larger than the stage takes: refused by `POST /uploads` (413), no record made. */
  | 'REFUSED';

export interface PlannedFile {
  readonly index: number;
  /** Which of the soak's users uploads it. */
  readonly user: number;
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Buffer;
  /** Declared size, when it differs from the bytes' (the oversize case only). */
  readonly declaredSize?: number;
  readonly expected: Expected;
  /** What the file is, for the figures: image, csv, json, log, other, hostile, oversize. */
  readonly label: string;
  /** The bytes were uploaded before under another name. */
  readonly duplicate: boolean;
  /** A fault asked for by the name (shared/processing/faults.ts). */
  readonly fault?: 'crash-once' | 'crash';
}

/** A small deterministic generator, so one seed gives the same plan on every run. */
const generator = (seed: number) => {
  let state = seed >>> 0 || 1;
  return (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
};

const csv = (rows: number, seed: number): Buffer => {
  const lines = ['id,name,amount,day'];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `${i},item-${(i * 7 + seed) % 997},${((i * 13 + seed) % 10_000) / 100},2026-0${(i % 9) + 1}-1${i % 10}`,
    );
  }
  return Buffer.from(`${lines.join('\n')}\n`);
};

const ndjson = (rows: number, seed: number): Buffer =>
  Buffer.from(
    Array.from(
      { length: rows },
      (_, i) => `${JSON.stringify({ id: i, user: `u${(i + seed) % 50}`, ok: i % 3 !== 0 })}\n`,
    ).join(''),
  );

const logLines = (lines: number, seed: number): Buffer =>
  Buffer.from(
    Array.from({ length: lines }, (_, i) => {
      const level = ['INFO', 'WARN', 'ERROR', 'DEBUG'][(i + seed) % 4];
      const second = String(i % 60).padStart(2, '0');
      return `2026-12-01T10:${String(((i / 60) % 60) | 0).padStart(2, '0')}:${second}Z ${level} request ${seed}-${i} took ${(i * 17) % 900} ms\n`;
    }).join(''),
  );

/** 2 GiB is the local stage's `maxUploadBytes` (infra/stages.ts): a byte more is refused. */
const OVERSIZE_BYTES = 2 * 1024 ** 3 + 1;

/**
 * The soak's uploads: mixed kinds and sizes (images, CSV and NDJSON, logs, JSON documents and
 * other files), hostile files (a name that lies about the bytes, a truncated JPEG, a PNG whose
 * header asks for 2.5 gigapixels, a size over the stage's limit), the same bytes again under
 * other names, and a few files whose names ask the local stage to crash their processor (once,
 * or on every delivery). Spread round-robin over `users`.
 */
export const planWorkload = async (options: {
  files: number;
  users: number;
  seed?: number;
  /**
   * Include files that crash their processor on every delivery (1 in 200). Their crashes take
   * down the other records of their batches too, which can park an innocent file's messages
   * in the DLQ (docs/operations.md, "Soak"). @default true
   */
  crashAlways?: boolean;
}): Promise<PlannedFile[]> => {
  const random = generator(options.seed ?? 17);
  const jpegs = await Promise.all([makeJpeg(64, 48), makeJpeg(320, 240), makeJpeg(1024, 768)]);
  const png = await makePng(200, 150, true);
  const bomb = makePngHeaderOnly(50_000, 50_000);
  const plan: PlannedFile[] = [];
  const earlier: PlannedFile[] = [];
  for (let index = 0; index < options.files; index++) {
    const user = index % options.users;
    const roll = random();
    const base = { index, user, duplicate: false } as const;
    let file: PlannedFile;
    // The faults and hostile files at fixed places, so a short run has each of them too.
    if (index % 50 === 7 || index % 50 === 33) {
      // Crashes its processor on the first delivery only: the retry must finish it.
      file =
        index % 50 === 7
          ? {
              ...base,
              filename: `photo-${index} fault-crash-once.jpg`,
              contentType: 'image/jpeg',
              bytes: jpegs[0] as Buffer,
              expected: 'PROCESSED',
              label: 'image',
              fault: 'crash-once',
            }
          : {
              ...base,
              filename: `notes-${index} fault-crash-once.txt`,
              contentType: 'text/plain',
              bytes: Buffer.from(`crash once ${index}\n`),
              expected: 'PROCESSED',
              label: 'other',
              fault: 'crash-once',
            };
    } else if (index % 200 === 1 && options.crashAlways !== false) {
      // Early, so its three deliveries and the sweep run while the others upload.
      file = {
        ...base,
        filename: `poison-${index} fault-crash.txt`,
        contentType: 'text/plain',
        bytes: Buffer.from(`crash always ${index}\n`),
        expected: 'FAILED',
        label: 'other',
        fault: 'crash',
      };
    } else if (index % 25 === 12 || roll < 0.03) {
      const hostile = index % 3;
      file =
        hostile === 0
          ? {
              ...base,
              filename: `holiday-${index}.jpg`,
              contentType: 'image/jpeg',
              bytes: Buffer.from(`not a jpeg at all ${index}\n`),
              expected: 'NOT_PROCESSED',
              label: 'hostile',
            }
          : hostile === 1
            ? {
                ...base,
                filename: `cut-${index}.jpg`,
                contentType: 'image/jpeg',
                bytes: (jpegs[1] as Buffer).subarray(0, 600),
                expected: 'NOT_PROCESSED',
                label: 'hostile',
              }
            : {
                ...base,
                filename: `huge-${index}.png`,
                contentType: 'image/png',
                bytes: bomb,
                expected: 'NOT_PROCESSED',
                label: 'hostile',
              };
    } else if (index % 100 === 59) {
      file = {
        ...base,
        filename: `too-big-${index}.bin`,
        contentType: 'application/octet-stream',
        bytes: Buffer.from('x'),
        declaredSize: OVERSIZE_BYTES,
        expected: 'REFUSED',
        label: 'oversize',
      };
    } else if (roll < 0.12 && earlier.length > 0) {
      const original = earlier[Math.floor(random() * earlier.length)] as PlannedFile;
      const dot = original.filename.lastIndexOf('.');
      file = {
        ...original,
        ...base,
        filename: `copy-${index}${original.filename.slice(dot)}`,
        duplicate: true,
      };
    } else {
      const kind = random();
      const size = random();
      if (kind < 0.4) {
        file =
          size < 0.85
            ? {
                ...base,
                filename: `img-${index}.jpg`,
                contentType: 'image/jpeg',
                bytes: size < 0.5 ? (jpegs[0] as Buffer) : (jpegs[1] as Buffer),
                expected: 'PROCESSED',
                label: 'image',
              }
            : size < 0.95
              ? {
                  ...base,
                  filename: `img-${index}.png`,
                  contentType: 'image/png',
                  bytes: png,
                  expected: 'PROCESSED',
                  label: 'image',
                }
              : {
                  ...base,
                  filename: `big-${index}.jpg`,
                  contentType: 'image/jpeg',
                  bytes: jpegs[2] as Buffer,
                  expected: 'PROCESSED',
                  label: 'image',
                };
      } else if (kind < 0.6) {
        const rows = size < 0.9 ? 20 + Math.floor(size * 200) : 20_000;
        file =
          index % 2 === 0
            ? {
                ...base,
                filename: `sales-${index}.csv`,
                contentType: 'text/csv',
                bytes: csv(rows, index),
                expected: 'PROCESSED',
                label: 'csv',
              }
            : {
                ...base,
                filename: `events-${index}.ndjson`,
                contentType: 'application/x-ndjson',
                bytes: ndjson(rows, index),
                expected: 'PROCESSED',
                label: 'json',
              };
      } else if (kind < 0.75) {
        const lines = size < 0.9 ? 50 + Math.floor(size * 500) : 30_000;
        file = {
          ...base,
          filename: `app-${index}.log`,
          contentType: 'text/plain',
          bytes: logLines(lines, index),
          expected: 'PROCESSED',
          label: 'log',
        };
      } else if (kind < 0.85) {
        file = {
          ...base,
          filename: `doc-${index}.json`,
          contentType: 'application/json',
          bytes: Buffer.from(JSON.stringify({ id: index, tags: ['a', 'b'], nested: { n: size } })),
          expected: 'PROCESSED',
          label: 'json',
        };
      } else {
        const length = size < 0.9 ? 100 + Math.floor(size * 4_000) : 512 * 1024;
        const bytes = Buffer.alloc(length);
        for (let i = 0; i < length; i++) bytes[i] = (i * 31 + index) & 0xff;
        file = {
          ...base,
          filename: `blob-${index}.bin`,
          contentType: 'application/octet-stream',
          bytes,
          expected: 'PROCESSED',
          label: 'other',
        };
      }
      earlier.push(file);
    }
    plan.push(file);
  }
  return plan;
};

/** The SHA-256 of a planned file's bytes, as the processor records it. */
export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
