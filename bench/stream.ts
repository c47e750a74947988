import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** SHA-256 over 1 GiB already in memory (a 64 MiB buffer, 16 times): the fastest this hash goes here. */
const baselineMbPerS = (): number => {
  const buffer = Buffer.alloc(64 * 1024 * 1024, 7);
  const started = process.hrtime.bigint();
  const hash = createHash('sha256');
  for (let i = 0; i < 16; i++) hash.update(buffer);
  hash.digest();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return 1024 / seconds;
};

export const benchStream = (): Record<string, unknown> => {
  const child = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'stream-child.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as { seconds: number; peakRss: number };
  const mbPerS = 1024 / child.seconds;
  const baseline = baselineMbPerS();
  return {
    bench: 'stream-1gib',
    peak_rss_mb: Math.round(child.peakRss / 1024 / 1024),
    mb_per_s: Math.round(mbPerS),
    baseline_mb_per_s: Math.round(baseline),
    ratio: Number((mbPerS / baseline).toFixed(3)),
    goal: 'peak_rss_mb <= 160, ratio >= 0.6',
  };
};
