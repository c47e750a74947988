import { describe, expect, it } from 'vitest';
import { AbortError, type UploadOptions, type UploadResult } from '../../../client/src/index.ts';
import { IllegalMove, UploadItem } from '../../../console/src/upload-item.ts';
import { UNVERIFIED, UploadQueue } from '../../../console/src/upload-queue.ts';

/** One upload the fake uploader is running, finished or failed by the test. */
interface Running {
  readonly file: File;
  readonly options: UploadOptions;
  progress(loaded: number): void;
  finish(result?: Partial<UploadResult>): void;
  fail(error: Error): void;
  /** Settles once the upload's promise has (resolved, rejected or aborted). */
  readonly settled: Promise<void>;
}

/**
 * An uploader that does nothing until told, and honours the abort signal as the real one does
 * (the upload rejects with an AbortError). It records what the queue asks of it.
 */
const fakeUploader = () => {
  const running: Running[] = [];
  const discarded: string[] = [];
  const uploader = {
    upload(file: File, options: UploadOptions = {}): Promise<UploadResult> {
      let resolve!: (result: UploadResult) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<UploadResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      options.signal?.addEventListener('abort', () => reject(new AbortError()));
      options.onStarted?.({ fileId: `id-${file.name}`, method: 'MULTIPART', resumed: false });
      running.push({
        file,
        options,
        progress: (loaded) => options.onProgress?.({ loaded, total: file.size }),
        finish: (result) =>
          resolve({
            fileId: `id-${file.name}`,
            method: 'MULTIPART',
            status: 'UPLOADED',
            resumed: false,
            partsSent: 1,
            ...result,
          }),
        fail: reject,
        settled: promise.then(
          () => undefined,
          () => undefined,
        ),
      });
      return promise;
    },
    async discard(file: { name?: string }): Promise<void> {
      discarded.push(file.name ?? '');
    },
  };
  const names = () => running.map((r) => r.file.name);
  const current = (name: string) => {
    const found = running.filter((r) => r.file.name === name).at(-1);
    if (!found) throw new Error(`${name} is not uploading`);
    return found;
  };
  return { uploader, running, discarded, names, current };
};

const file = (name: string, size = 100) => new File([new Uint8Array(size)], name);
/** Lets promise callbacks (the queue's `finally`) run. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('UploadQueue', () => {
  it('runs no more files at once than its concurrency, and starts the next as one ends', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 2);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => queue.add(file(name), name)) as UploadItem[];
    expect(fake.names()).toEqual(['a', 'b']);
    expect([a?.state, b?.state, c?.state]).toEqual(['uploading', 'uploading', 'queued']);

    fake.current('a').finish();
    await tick();
    expect(a?.state).toBe('uploaded');
    expect(fake.names()).toEqual(['a', 'b', 'c']);
    expect(c?.state).toBe('uploading');
  });

  it('says so on an uploaded file whose checksum S3 did not confirm', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 2);
    const [checked, unchecked] = ['a', 'b'].map((name) => queue.add(file(name), name));
    fake.current('a').finish({ checksumVerified: true });
    fake.current('b').finish({ checksumVerified: false });
    await tick();
    expect([checked?.state, checked?.reason]).toEqual(['uploaded', undefined]);
    expect([unchecked?.state, unchecked?.reason]).toEqual(['uploaded', UNVERIFIED]);
  });

  it('starts waiting files at once when the concurrency is raised, and none when it is lowered', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 1);
    for (const name of ['a', 'b', 'c', 'd', 'e']) queue.add(file(name), name);
    expect(fake.names()).toEqual(['a']);
    queue.concurrency = 3;
    expect(fake.names()).toEqual(['a', 'b', 'c']);
    // Lowering it stops nothing that runs; the next file waits until fewer than two run.
    queue.concurrency = 2;
    fake.current('a').finish();
    await tick();
    expect(fake.names()).toEqual(['a', 'b', 'c']);
    fake.current('b').finish();
    await tick();
    expect(fake.names()).toEqual(['a', 'b', 'c', 'd']);
    expect(() => {
      queue.concurrency = 0;
    }).toThrow(RangeError);
  });

  it('pauses: the upload is aborted, its slot goes to the next file, and no progress counts', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 1);
    const big = queue.add(file('big', 1000), 'big');
    const next = queue.add(file('next'), 'next');
    fake.current('big').progress(400);
    expect(big.loaded).toBe(400);

    queue.pause(big);
    expect(big.state).toBe('paused');
    expect(fake.current('big').options.signal?.aborted).toBe(true);
    await fake.current('big').settled;
    await tick();
    // An abort is no failure: the item stays paused, with no reason.
    expect(big.state).toBe('paused');
    expect(big.reason).toBeUndefined();
    expect(next.state).toBe('uploading');
    // Pausing twice, or a file that is not uploading, changes nothing.
    queue.pause(big);
    expect(big.state).toBe('paused');
    expect(fake.discarded).toEqual([]);
  });

  it('resumes a paused upload with a new upload call (the uploader resumes its parts) to its end', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 1);
    const big = queue.add(file('big', 1000), 'big');
    const first = fake.current('big');
    queue.pause(big);
    await first.settled;
    await tick();

    queue.resume(big);
    expect(big.state).toBe('uploading');
    const second = fake.current('big');
    expect(second).not.toBe(first);
    expect(second.options.signal?.aborted).toBe(false);
    second.finish({ resumed: true });
    await tick();
    expect(big.state).toBe('uploaded');
    // Resuming what is not paused or failed does nothing.
    queue.resume(big);
    expect(fake.running).toHaveLength(2);
  });

  it('a resume waits for a free slot like any queued file', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 1);
    const a = queue.add(file('a'), 'a');
    const b = queue.add(file('b'), 'b');
    queue.pause(a);
    await tick();
    expect(b.state).toBe('uploading');
    queue.resume(a);
    expect(a.state).toBe('queued');
    fake.current('b').finish();
    await tick();
    expect(a.state).toBe('uploading');
  });

  it('cancels: aborts, waits for the upload to stop, then gives it up on the server', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 2);
    const item = queue.add(file('gone', 1000), 'gone');
    const upload = fake.current('gone');
    let discardedWhileRunning: boolean | undefined;
    const discard = fake.uploader.discard;
    let stopped = false;
    void upload.settled.then(() => {
      stopped = true;
    });
    fake.uploader.discard = async (f) => {
      discardedWhileRunning = !stopped;
      return discard(f);
    };
    await queue.cancel(item);
    expect(item.state).toBe('cancelled');
    expect(upload.options.signal?.aborted).toBe(true);
    expect(fake.discarded).toEqual(['gone']);
    expect(discardedWhileRunning).toBe(false);
    // Nothing more can happen to it.
    queue.resume(item);
    await queue.cancel(item);
    expect(fake.discarded).toEqual(['gone']);
    expect(item.state).toBe('cancelled');
  });

  it('cancels a paused, a waiting and a failed upload too, and never a finished one', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 1);
    const paused = queue.add(file('paused'), 'paused');
    const waiting = queue.add(file('waiting'), 'waiting');
    queue.pause(paused);
    await tick();
    fake.current('waiting').fail(new Error('The network is down'));
    await tick();
    expect(waiting.state).toBe('failed');
    expect(waiting.reason).toBe('The network is down');
    const third = queue.add(file('third'), 'third');
    fake.current('third').finish();
    await tick();
    const queued = queue.add(file('queued'), 'queued');
    queue.concurrency = 1;
    await queue.cancel(paused);
    await queue.cancel(waiting);
    await tick();
    expect([paused.state, waiting.state]).toEqual(['cancelled', 'cancelled']);
    expect(fake.discarded).toEqual(['paused', 'waiting']);
    await queue.cancel(third);
    expect(third.state).toBe('uploaded');
    expect(fake.discarded).toEqual(['paused', 'waiting']);
    expect(queued.state).toBe('uploading');
  });

  it('shows a REJECTED completion with its reason, and finds items by file id for live events', async () => {
    const fake = fakeUploader();
    const queue = new UploadQueue(fake.uploader, 1);
    const item = queue.add(file('bad'), 'bad');
    fake.current('bad').finish({ status: 'REJECTED', reason: 'checksum differs' });
    await tick();
    expect(item).toMatchObject({ state: 'rejected', reason: 'checksum differs' });
    expect(queue.byFileId('id-bad')).toBe(item);
    expect(queue.byFileId('nobody')).toBeUndefined();
  });
});

describe('UploadItem', () => {
  it('refuses moves its machine does not allow', () => {
    const item = new UploadItem(file('x'), 'x');
    expect(() => item.move('processed')).toThrow(IllegalMove);
    item.move('uploading');
    item.move('uploaded');
    expect(item.can('paused')).toBe(false);
    expect(item.can('cancelled')).toBe(false);
    item.move('processed');
    expect(() => item.move('queued')).toThrow(/cannot go from processed to queued/);
  });

  it('smooths the speed and tells the time left', () => {
    const item = new UploadItem(file('x', 10_000), 'x');
    item.move('uploading');
    item.progress(0, 0);
    item.progress(1000, 1000);
    expect(item.speed).toBe(1000);
    item.progress(3000, 2000);
    // 0.7 of the old 1000 B/s and 0.3 of the new 2000 B/s.
    expect(item.speed).toBeCloseTo(1300);
    expect(item.secondsLeft).toBeCloseTo(7000 / 1300);
    // Samples closer than 250 ms only move the bytes.
    item.progress(3100, 2100);
    expect(item.speed).toBeCloseTo(1300);
    expect(item.loaded).toBe(3100);
  });
});
