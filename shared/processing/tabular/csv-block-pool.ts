import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type BlockResult, type BlockTask, inspectCsvBlock } from './csv-blocks.ts';

/** Reads CSV blocks: in this thread, or spread over worker threads. */
export interface BlockRunner {
  run(task: BlockTask): Promise<BlockResult>;
  /** Ends the runner's threads, giving their memory back before the Parquet pass. */
  close(): Promise<void>;
}

export const inlineRunner: BlockRunner = {
  run: async (task) => inspectCsvBlock(task),
  close: async () => {},
};

interface Pending {
  readonly resolve: (result: BlockResult) => void;
  readonly reject: (error: Error) => void;
}

interface PooledWorker {
  readonly worker: Worker;
  readonly queue: Pending[];
}

/**
 * A worker on the worker's own file beside this one: `.mjs` when bundled; the `.ts` source under
 * tsx (tests, benchmarks), loaded through tsx's loader registered in the worker first.
 */
const startWorker = (): Worker => {
  const extension = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./csv-block-worker${extension}`, import.meta.url);
  if (extension !== '.ts') return new Worker(url);
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true });
};

/**
 * A pool of worker threads for one file, started as the first blocks need them and ended with
 * `close` (their heaps would otherwise stay while DuckDB writes). Each worker answers its blocks
 * in order; a block goes to the worker with the shortest queue.
 */
class WorkerPool implements BlockRunner {
  private readonly workers: PooledWorker[] = [];

  constructor(private readonly size: number) {}

  run(task: BlockTask): Promise<BlockResult> {
    const target = this.pick();
    return new Promise<BlockResult>((resolve, reject) => {
      target.queue.push({ resolve, reject });
      target.worker.postMessage(task);
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private pick(): PooledWorker {
    if (this.workers.length < this.size) {
      const pooled: PooledWorker = { worker: startWorker(), queue: [] };
      pooled.worker.on(
        'message',
        (message: { ok: boolean; result?: BlockResult; message?: string }) => {
          const pending = pooled.queue.shift();
          if (pooled.queue.length === 0) pooled.worker.unref();
          if (message.ok) pending?.resolve(message.result as BlockResult);
          else pending?.reject(new Error(message.message));
        },
      );
      const fail = (error: Error): void => {
        for (const pending of pooled.queue.splice(0)) pending.reject(error);
        this.workers.splice(this.workers.indexOf(pooled), 1);
      };
      pooled.worker.on('error', fail);
      pooled.worker.on('exit', (code) => {
        if (pooled.queue.length > 0) fail(new Error(`CSV worker exited with code ${code}`));
      });
      this.workers.push(pooled);
      return pooled;
    }
    return this.workers.reduce((a, b) => (b.queue.length < a.queue.length ? b : a));
  }
}

/** Threads worth using: the cores the function has, up to four; none on one core. */
export const defaultBlockThreads = (): number => {
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, 4) : 0;
};

/** A pool of up to `threads` workers for one file, or the in-line runner for 0. */
export const blockRunner = (threads: number): BlockRunner =>
  threads <= 0 ? inlineRunner : new WorkerPool(threads);
