import { ApiError, isAbort, type Uploader } from '../../client/src/index.ts';
import { UploadItem } from './upload-item.ts';

/**
 * Runs uploads a few at a time (each large one sends its parts in parallel too), and carries out
 * pause, resume and cancel on the items' state machines.
 */
/**
 * What an uploaded file's line says when S3 gave back no checksum to compare with the one the
 * browser computed (a store without CRC64NVME): the file goes on, but its bytes were not checked.
 */
export const UNVERIFIED =
  'S3 did not confirm its checksum: compare the sha256 on its record with your copy';

export class UploadQueue {
  readonly items: UploadItem[] = [];
  private running = 0;
  private limit: number;
  /** Each item's upload while it runs: a cancel waits for it to stop before giving it up. */
  private readonly runs = new Map<UploadItem, Promise<void>>();
  private readonly listeners = new Set<(item: UploadItem) => void>();

  constructor(
    private readonly uploader: Pick<Uploader, 'upload' | 'discard'>,
    concurrency = 3,
  ) {
    this.limit = concurrency;
  }

  /** Files uploading at once. Raising it starts waiting files now, not when one finishes. */
  get concurrency(): number {
    return this.limit;
  }

  set concurrency(value: number) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError('At least one file at once');
    this.limit = value;
    this.pump();
  }

  onAdded(listener: (item: UploadItem) => void): void {
    this.listeners.add(listener);
  }

  add(file: File, path: string): UploadItem {
    const item = new UploadItem(file, path);
    this.items.push(item);
    for (const listener of this.listeners) listener(item);
    this.pump();
    return item;
  }

  pause(item: UploadItem): void {
    if (!item.can('paused')) return;
    item.controller?.abort();
    item.move('paused');
  }

  resume(item: UploadItem): void {
    if (item.state === 'paused' || item.state === 'failed') {
      item.move('queued');
      this.pump();
    }
  }

  /**
   * Stops the upload and gives it up on the server: a multipart session is aborted (its parts
   * go), a presigned POST's record deleted (by the uploader, on the abort). Waits for the
   * running upload to stop first, so no part it was sending writes the journal again after.
   */
  async cancel(item: UploadItem): Promise<void> {
    if (!item.can('cancelled')) return;
    item.controller?.abort();
    item.move('cancelled');
    await this.runs.get(item);
    await this.uploader.discard(item.file, item.file.name).catch(() => undefined);
  }

  /** The item of a file, by the server's id (for live events). */
  byFileId(fileId: string): UploadItem | undefined {
    return this.items.find((item) => item.fileId === fileId);
  }

  private pump(): void {
    while (this.running < this.limit) {
      const next = this.items.find((item) => item.state === 'queued');
      if (!next) return;
      this.running++;
      const run = this.run(next).finally(() => {
        if (this.runs.get(next) === run) this.runs.delete(next);
        this.running--;
        this.pump();
      });
      this.runs.set(next, run);
    }
  }

  private async run(item: UploadItem): Promise<void> {
    const controller = new AbortController();
    item.controller = controller;
    item.move('uploading');
    try {
      const result = await this.uploader.upload(item.file, {
        signal: controller.signal,
        concurrency: 4,
        onStarted: ({ fileId, resumed }) => {
          item.fileId = fileId;
          item.resumed = resumed;
        },
        onProgress: ({ loaded }) => item.progress(loaded),
      });
      if (controller.signal.aborted) return;
      if (result.status === 'REJECTED') item.move('rejected', result.reason);
      else if (result.checksumVerified === false) item.move('uploaded', UNVERIFIED);
      else item.move('uploaded');
    } catch (error) {
      // Paused or cancelled: the state already says so.
      if (isAbort(error) || controller.signal.aborted) return;
      const message =
        error instanceof ApiError
          ? error.message
          : error instanceof Error
            ? error.message
            : String(error);
      if (item.can('failed')) item.move('failed', message);
    }
  }
}
