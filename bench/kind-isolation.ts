import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTransport, SyncFlowApi, Uploader } from '../client/src/index.ts';
import type { LocalStackInfo } from '../scripts/lib/local-stack.ts';
import { writeCsv } from './data/generate.ts';

const CSV_COUNT = 20;
const CSV_BYTES = 32 * 1024 ** 2;
const IMAGES = 10;

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `image-behind-csv`: an image uploaded while 20 large CSV files are queued or converting, on the
 * local stack. Each kind has its own queue and function, so the image should not wait for them.
 * Measures, for images uploaded one at a time while CSVs are still unfinished, the time from the
 * end of the image's upload to its record showing it taken (PROCESSING or later: the status is
 * read every 25 ms, so a run shorter than that shows as PROCESSED), and the same for images with
 * nothing else queued, in the same run.
 */
export const benchImageBehindCsvs = async (
  stack: LocalStackInfo,
  token: string,
  image: Buffer,
): Promise<Record<string, unknown>> => {
  const api = new SyncFlowApi({ baseUrl: stack.restUrl, token: async () => token });
  const uploader = new Uploader(api, stack.restUrl, { transport: fetchTransport() });
  const upload = async (data: Buffer, name: string, type: string): Promise<string> =>
    (await uploader.upload(new File([new Uint8Array(data)], name, { type }))).fileId;
  /** Upload end to the record leaving UPLOADED/PENDING_UPLOAD, in ms. */
  const taken = async (fileId: string, uploaded: number): Promise<number> => {
    for (;;) {
      const file = await api.getFile(fileId);
      if (file.status !== 'PENDING_UPLOAD' && file.status !== 'UPLOADED') {
        return Date.now() - uploaded;
      }
      if (Date.now() - uploaded > 120_000) throw new Error(`${fileId} not taken in 120 s`);
      await sleep(25);
    }
  };
  const measureImage = async (name: string): Promise<number> => {
    const fileId = await upload(image, name, 'image/jpeg');
    return taken(fileId, Date.now());
  };

  const idle: number[] = [];
  for (let i = 0; i < 5; i++) idle.push(await measureImage(`idle-${i}.jpg`));

  const dir = join(tmpdir(), 'syncflow-bench-data');
  mkdirSync(dir, { recursive: true });
  const csvPath = join(dir, 'mixed-32mib.csv');
  await writeCsv(csvPath, CSV_BYTES);
  const csv = readFileSync(csvPath);
  const csvIds: string[] = [];
  let next = 0;
  const csvUploads = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < CSV_COUNT) {
        const n = next++;
        csvIds.push(await upload(csv, `load-${n}.csv`, 'text/csv'));
      }
    }),
  );
  while (csvIds.length < 4) await sleep(100);
  const unfinished = async (): Promise<number> => {
    // The ids uploaded so far: the list grows while this reads it.
    const uploaded = [...csvIds];
    let count = CSV_COUNT - uploaded.length;
    for (const id of uploaded) {
      const { status } = await api.getFile(id);
      if (status !== 'PROCESSED' && status !== 'FAILED' && status !== 'REJECTED') count++;
    }
    return count;
  };
  const loaded: number[] = [];
  const behind: number[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const waiting = await unfinished();
    if (waiting === 0) break;
    loaded.push(await measureImage(`loaded-${i}.jpg`));
    behind.push(waiting);
    await sleep(500);
  }
  await csvUploads;
  const started = Date.now();
  while ((await unfinished()) > 0 && Date.now() - started < 600_000) await sleep(2000);
  const ended = await Promise.all(csvIds.map((id) => api.getFile(id)));
  return {
    bench: 'image-behind-csv',
    csv_files: CSV_COUNT,
    csv_mib_each: CSV_BYTES / 1024 ** 2,
    images: loaded.length,
    csv_unfinished_per_image: behind,
    p50_taken_ms: Math.round(quantile(loaded, 0.5)),
    max_taken_ms: Math.round(Math.max(...loaded)),
    idle_p50_taken_ms: Math.round(quantile(idle, 0.5)),
    csv_processed: ended.filter((f) => f.status === 'PROCESSED').length,
    goal: 'max_taken_ms <= 2000 (an image starts within 2 s while CSVs convert)',
  };
};
