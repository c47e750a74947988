import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream, statSync } from 'node:fs';
import { startMinistack } from './scripts/lib/ministack.ts';
import { freePort } from './test/support/ports.ts';
import { s3RangeReader } from './shared/adapters/s3-range-reader.ts';
import { probeMedia } from './shared/processing/video/probe.ts';
const port = await freePort();
const em = await startMinistack({ port, logFile: `/tmp/mx/ms-${port}.log`, dataDir: `/tmp/mx/ms-${port}` });
try {
  const s3 = new S3Client({ endpoint: em.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench-bucket' }));
  const path = process.argv[2] as string;
  let t = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: 'bench-bucket', Key: 'k', Body: createReadStream(path), ContentLength: statSync(path).size }));
  console.log('upload s', (performance.now() - t) / 1000);
  const reader = await s3RangeReader(s3, { bucket: 'bench-bucket', key: 'k' });
  const orig = reader.read;
  const r = { size: reader.size, read: async (o: number, l: number) => { const d = await orig(o, l); if (d.length !== Math.min(l, reader.size - o)) console.log('MISMATCH', o, l, d.length); return d; } };
  t = performance.now();
  const p = await probeMedia(r);
  console.log((performance.now() - t) / 1000, p.bytesRead, p.requests, JSON.stringify(p.finding).slice(0, 200));
} finally { await em.stop(); }
