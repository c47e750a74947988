import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Runs tasks of one kind: in this thread, or spread over worker threads. */
export interface TaskRunner<T, R> {
  /** Runs a task; `transfer` lists buffers handed to the worker thread (unusable here after). */
  run(task: T, transfer?: readonly ArrayBuffer[]): Promise<R>;
  /** Ends the runner's threads, giving their memory back (before DuckDB's pass, say). */
  close(): Promise<void>;
}

interface Pending<R> {
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

interface PooledWorker<R> {
  readonly worker: Worker;
  readonly queue: Pending<R>[];
}

/**
 * A worker on a file beside the calling module: `<name>.mjs` when bundled; the `.ts` source under
 * tsx (tests, benchmarks), loaded through tsx's loader registered in the worker first.
 */
const startWorker = (callerUrl: string, name: string): Worker => {
  const extension = extname(fileURLToPath(callerUrl));
  const url = new URL(`./${name}${extension}`, callerUrl);
  if (extension !== '.ts') return new Worker(url);
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true });
};

/**
 * A pool of worker threads for one file, started as tasks need them and ended with `close`.
 * Each worker answers its tasks in order; a task goes to the worker with the shortest queue.
 * A worker file answers each message with `{ok: true, result}` or `{ok: false, message}`.
 */
class WorkerPool<T, R> implements TaskRunner<T, R> {
  private readonly workers: PooledWorker<R>[] = [];

  constructor(
    private readonly size: number,
    private readonly callerUrl: string,
    private readonly name: string,
  ) {}

  run(task: T, transfer: readonly ArrayBuffer[] = []): Promise<R> {
    const target = this.pick();
    return new Promise<R>((resolve, reject) => {
      target.queue.push({ resolve, reject });
      target.worker.postMessage(task, [...transfer]);
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private pick(): PooledWorker<R> {
    if (this.workers.length < this.size) {
      const pooled: PooledWorker<R> = {
        worker: startWorker(this.callerUrl, this.name),
        queue: [],
      };
      pooled.worker.on('message', (message: { ok: boolean; result?: R; message?: string }) => {
        const pending = pooled.queue.shift();
        if (message.ok) pending?.resolve(message.result as R);
        else pending?.reject(new Error(message.message));
      });
      const fail = (error: Error): void => {
        for (const pending of pooled.queue.splice(0)) pending.reject(error);
        const at = this.workers.indexOf(pooled);
        if (at >= 0) this.workers.splice(at, 1);
      };
      pooled.worker.on('error', fail);
      pooled.worker.on('exit', (code) => {
        if (pooled.queue.length > 0) fail(new Error(`${this.name} exited with code ${code}`));
      });
      this.workers.push(pooled);
      return pooled;
    }
    return this.workers.reduce((a, b) => (b.queue.length < a.queue.length ? b : a));
  }
}

/** Threads worth using: the cores the function has, up to four; none on one core. */
export const defaultThreads = (): number => {
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, 4) : 0;
};

/**
 * A runner of `threads` workers on the worker file `name` beside the module at `callerUrl`
 * (pass `import.meta.url`), or one that calls `inline` in this thread for 0.
 */
export const taskRunner = <T, R>(
  threads: number,
  callerUrl: string,
  name: string,
  inline: (task: T) => R,
): TaskRunner<T, R> =>
  threads <= 0
    ? { run: async (task) => inline(task), close: async () => {} }
    : new WorkerPool<T, R>(threads, callerUrl, name);

/** A worker file's message loop: answers each task with `work`'s result or its error. */
export const serveTasks = <T, R>(
  port: {
    on(event: 'message', listener: (task: T) => void): unknown;
    postMessage(message: unknown): void;
  } | null,
  work: (task: T) => R,
): void => {
  port?.on('message', (task: T) => {
    try {
      port.postMessage({ ok: true, result: work(task) });
    } catch (error) {
      port.postMessage({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
};
