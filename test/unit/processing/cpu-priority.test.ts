import { execFileSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BATCH_NICE } from '#shared/processing/cpu-priority.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('yieldToInteractiveKinds', () => {
  it('lowers the calling thread and the threads it starts later, not the process it came from', () => {
    // In a process of its own: the nice value is the thread's, and this test's must not change.
    const script = `
      import { Worker } from 'node:worker_threads';
      import { getPriority } from 'node:os';
      const { yieldToInteractiveKinds } = await import(${JSON.stringify(join(ROOT, 'shared/processing/cpu-priority.ts'))});
      const before = getPriority();
      const lowered = yieldToInteractiveKinds();
      const worker = new Worker("import { parentPort } from 'node:worker_threads'; import { getPriority } from 'node:os'; parentPort.postMessage(getPriority());", { eval: true });
      const inWorker = await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
      console.log(JSON.stringify({ before, lowered, main: getPriority(), inWorker }));
    `;
    const before = getPriority();
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    const seen = JSON.parse(out.trim().split('\n').pop() as string);
    expect(seen.lowered).toBe(true);
    expect(seen.main).toBe(BATCH_NICE);
    expect(seen.before).not.toBe(BATCH_NICE);
    expect(seen.inWorker).toBe(seen.main);
    expect(getPriority()).toBe(before);
  });
});
