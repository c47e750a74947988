import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';
import mediaInfoFactory, { type MediaInfo } from 'mediainfo.js';
import { type MediaInfoTrack, mapMediaInfo, type ProbeFinding } from './probe-mapping.ts';

/**
 * Reads byte ranges of one object: S3 `GetObject` with `Range` in the functions
 * (shared/adapters/s3-range-reader.ts), a local file in tests and benchmarks.
 */
export interface ByteRangeReader {
  /** The object's size in bytes. */
  readonly size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the object. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ProbeOptions {
  /**
   * Bytes read beyond the container's own index before the probe settles for what it has.
   * MediaInfo goes on to parse the first frames of every stream after the index; nothing the
   * record keeps comes from them, and on a 1 GiB file they cost tens of megabytes.
   */
  readonly slackBytes?: number;
}

export interface ProbeResult {
  readonly finding: ProbeFinding;
  /** Bytes fetched from the reader, all requests together. */
  readonly bytesRead: number;
  readonly requests: number;
}

const DEFAULT_SLACK = 2 * 1024 * 1024;
/** Each ranged read MediaInfo asks for: one S3 request a quarter of a megabyte. */
const CHUNK_BYTES = 256 * 1024;

/** Box types that may stand at the top level of an MP4/MOV file. */
const MP4_TOP_LEVEL = new Set([
  'ftyp',
  'styp',
  'moov',
  'mdat',
  'free',
  'skip',
  'wide',
  'uuid',
  'pdin',
  'meta',
  'moof',
  'mfra',
  'sidx',
  'junk',
  'pnot',
  'PICT',
]);

/**
 * The size of an MP4's `moov` box (its index), found by reading the 16-byte header of each
 * top-level box: a handful of tiny reads, wherever the index sits. Undefined when the file is
 * not an MP4 or has no index.
 */
export const mp4IndexSize = async (reader: ByteRangeReader): Promise<number | undefined> => {
  let offset = 0;
  for (let boxes = 0; boxes < 64 && offset + 8 <= reader.size; boxes += 1) {
    const header = Buffer.from(await reader.read(offset, 16));
    if (header.length < 8) return undefined;
    const type = header.toString('latin1', 4, 8);
    if (!MP4_TOP_LEVEL.has(type)) return undefined;
    let size = header.readUInt32BE(0);
    if (size === 1) {
      if (header.length < 16) return undefined;
      size = Number(header.readBigUInt64BE(8));
    } else if (size === 0) {
      size = reader.size - offset;
    }
    if (size < 8) return undefined;
    if (type === 'moov') return size;
    offset += size;
  }
  return undefined;
};

let instance: Promise<MediaInfo<'object'>> | undefined;
/** One MediaInfo per process (its WASM compiles once, on the first probe), one probe at a time. */
let queue: Promise<unknown> = Promise.resolve();

/** MediaInfo's compiled library: a function ships it beside its bundle (infra/bundling.ts). */
export const MEDIAINFO_WASM = 'MediaInfoModule.wasm';

/** The WASM beside this module when bundled, else the installed package's. */
const locateWasm = (): string => {
  const beside = fileURLToPath(new URL(MEDIAINFO_WASM, import.meta.url));
  if (existsSync(beside)) return beside;
  return nodeModule.createRequire(import.meta.url).resolve(`mediainfo.js/${MEDIAINFO_WASM}`);
};

const mediaInfo = (): Promise<MediaInfo<'object'>> => {
  instance ??= mediaInfoFactory({
    format: 'object',
    full: false,
    chunkSize: CHUNK_BYTES,
    locateFile: locateWasm,
  });
  return instance;
};

const runExclusive = <T>(work: () => Promise<T>): Promise<T> => {
  const run = queue.then(work, work);
  queue = run.catch(() => undefined);
  return run;
};

/**
 * Probes a video or audio file through ranged reads: MediaInfo (WASM) walks the container,
 * jumping to its index wherever it is, and stops once it has read the index and `slackBytes`
 * more. A 1 GiB MP4 with its index at the end costs a few megabytes (docs/benchmarks.md).
 */
export const probeMedia = async (
  reader: ByteRangeReader,
  options: ProbeOptions = {},
): Promise<ProbeResult> => {
  let bytesRead = 0;
  let requests = 0;
  const counted: ByteRangeReader = {
    size: reader.size,
    read: async (offset, length) => {
      const data = await reader.read(offset, length);
      bytesRead += data.length;
      requests += 1;
      return data;
    },
  };
  if (reader.size === 0) {
    return { finding: { kind: 'not-media', reason: 'The file is empty.' }, bytesRead, requests };
  }
  const indexSize = (await mp4IndexSize(counted)) ?? 0;
  // MediaInfo's first read (the file's head) and the whole index always fit in the budget.
  const budget = bytesRead + CHUNK_BYTES + indexSize + (options.slackBytes ?? DEFAULT_SLACK);
  const info = await mediaInfo();
  const report = await runExclusive(() =>
    info.analyzeData(reader.size, async (size, offset) => {
      // An empty answer tells MediaInfo the data ended: it reports what it has read so far.
      if (bytesRead >= budget || size <= 0) return new Uint8Array(0);
      return counted.read(offset, size);
    }),
  );
  const tracks = (report.media?.track ?? []) as unknown as MediaInfoTrack[];
  return { finding: mapMediaInfo(tracks), bytesRead, requests };
};

/** A reader over a local file, for tests, benchmarks and tools. Close it when done. */
export const fileRangeReader = async (
  path: string,
): Promise<ByteRangeReader & { close(): Promise<void> }> => {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
};
