import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { runPipeline } from '../shared/processing/pipeline.ts';

/** A 12 MP photo-like JPEG: smooth gradients with fine noise, as a camera makes. */
const makePhoto = async (width: number, height: number): Promise<Buffer> => {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let i = 0; i < pixels.length; i += 3) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const noise = (seed >> 16) & 0x1f;
    const x = (i / 3) % width;
    const y = Math.floor(i / 3 / width);
    pixels[i] = ((x * 200) / width + noise) & 0xff;
    pixels[i + 1] = ((y * 200) / height + noise) & 0xff;
    pixels[i + 2] = (((x + y) * 100) / (width + height) + noise * 2) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
};

async function* chunks(data: Buffer, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += size)
    yield data.subarray(offset, offset + size);
}

/** The same work written directly: hash, header, preview from the original, thumbnail from the preview. */
const baseline = async (jpeg: Buffer): Promise<void> => {
  createHash('sha256').update(jpeg).digest('hex');
  await sharp(jpeg).metadata();
  const preview = await sharp(jpeg)
    .rotate()
    .resize({ width: 1024, height: 1024, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
  await sharp(preview)
    .resize({ width: 256, height: 256, fit: 'inside' })
    .webp({ quality: 75 })
    .toBuffer();
};

const pipeline = async (jpeg: Buffer): Promise<void> => {
  const result = await runPipeline(
    chunks(jpeg),
    { contentType: 'image/jpeg', size: jpeg.length, checksumSha256: null },
    undefined,
    jpeg.length,
  );
  if (result.status !== 'PROCESSED') throw new Error(`pipeline ended ${result.status}`);
};

const cpuMs = async (work: () => Promise<void>): Promise<number> => {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Pipeline against baseline, interleaved so drift on a noisy machine hits both alike. */
export const benchPipelineJpeg = async (rounds = 9): Promise<Record<string, unknown>> => {
  sharp.cache(false);
  const jpeg = await makePhoto(4000, 3000);
  await pipeline(jpeg);
  await baseline(jpeg);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(await cpuMs(() => pipeline(jpeg)));
    theirs.push(await cpuMs(() => baseline(jpeg)));
  }
  const cpu = median(ours);
  const base = median(theirs);
  return {
    bench: 'pipeline-jpeg-12mp',
    input_mb: Number((jpeg.length / 1024 / 1024).toFixed(2)),
    rounds,
    cpu_ms: Number(cpu.toFixed(1)),
    baseline_cpu_ms: Number(base.toFixed(1)),
    ratio: Number((cpu / base).toFixed(3)),
    goal: 'ratio <= 1.10',
  };
};
