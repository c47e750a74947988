import { runPipeline } from '../shared/processing/pipeline.ts';

/**
 * Runs in a fresh process so its peak RSS is the pipeline's alone: streams 1 GiB in 64 KiB
 * chunks (the size S3's SDK stream yields) through the pipeline and reports time and peak memory.
 */
const SIZE = 1024 ** 3;
const CHUNK = 64 * 1024;
const block = Buffer.alloc(CHUNK);
for (let i = 0; i < CHUNK; i++) block[i] = (i * 131 + 17) & 0xff;

async function* body(): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < SIZE; sent += CHUNK) yield block;
}

let peak = process.memoryUsage().rss;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);
const started = process.hrtime.bigint();
const result = await runPipeline(
  body(),
  { contentType: 'application/octet-stream', size: SIZE, checksumSha256: null },
  undefined,
  SIZE,
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
if (result.status !== 'PROCESSED' || result.size !== SIZE)
  throw new Error(`unexpected result ${result.status}`);
process.stdout.write(JSON.stringify({ seconds, peakRss: peak }));
