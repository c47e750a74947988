import {
  type ErrorBody,
  MAX_UPLOAD_BATCH,
  type SyncFlowClient,
  type UploadRequest,
  type UploadResponse,
} from '../../client/src/index.ts';
import { contentTypeOf, type LocalFile, sha256Of } from './files.ts';
import { type FileJournal, fileFingerprint } from './journal.ts';

/**
 * Files below this size are asked for in batches. A batch's presigned POSTs all start their
 * lifetime (the stage's, 15 minutes by default) when it is answered, so its files must be sent
 * well within that: at most BATCH_BYTES a batch. Larger files are asked for one at a time, as
 * they are sent, and a file above the stage's multipart threshold goes in parts as before.
 */
export const BATCH_MAX_FILE_BYTES = 8 * 1024 ** 2;
const BATCH_BYTES = 64 * 1024 ** 2;
const HASHES_AT_ONCE = 4;

/** A file whose upload a batch request asked for: its answer, or why it has none. */
export type BatchedFile =
  | {
      readonly file: LocalFile;
      readonly created: UploadResponse;
      readonly contentType: string;
      readonly checksumSha256?: string;
    }
  | { readonly file: LocalFile; readonly refused: ErrorBody['error'] }
  /** The batch request failed as a whole (network, auth, interrupted): each file fails with it. */
  | { readonly file: LocalFile; readonly failure: unknown };

export interface UploadBatchOptions {
  readonly contentType?: string;
  readonly checksum: boolean;
  /** Answered files kept waiting for a sender before the next batch is asked for. */
  readonly lowWater: number;
  readonly signal: AbortSignal;
}

/**
 * Asks the API for many files' uploads at once (`POST /uploads/batch`) ahead of the workers
 * that send them, one batch ahead at most. The journal gets the same lines as for a file asked
 * for alone, so a killed run resumes the same way: `requested` for every file of a batch before
 * it leaves (a batch lost on its way is found again by name, size and time, and given up), then
 * each file's id as `started` as soon as the answer is read, before any of its bytes leave.
 */
export class UploadBatches {
  private readonly ready: BatchedFile[] = [];
  private readonly waiting: LocalFile[];
  private fetching: Promise<void> | undefined;
  /** How many batch requests were sent: the run's summary says so. */
  requests = 0;

  constructor(
    private readonly client: SyncFlowClient,
    private readonly journal: FileJournal,
    files: readonly LocalFile[],
    private readonly options: UploadBatchOptions,
  ) {
    this.waiting = [...files];
  }

  /** Whether a file is asked for in a batch: a small one the journal knows nothing of. */
  static fits(file: LocalFile, known: boolean): boolean {
    return !known && file.size < BATCH_MAX_FILE_BYTES;
  }

  /**
   * The next file answered, or undefined when every file was handed out or the run was
   * stopped (the files not asked for yet stay unknown to the journal: sent next time).
   */
  async next(): Promise<BatchedFile | undefined> {
    for (;;) {
      const found = this.ready.shift();
      if (found) {
        if (this.ready.length <= this.options.lowWater) this.prefetch();
        return found;
      }
      if (this.options.signal.aborted && !this.fetching) return undefined;
      if (this.waiting.length === 0 && !this.fetching) return undefined;
      this.prefetch();
      await this.fetching;
    }
  }

  private prefetch(): void {
    if (this.fetching || this.waiting.length === 0 || this.options.signal.aborted) return;
    this.fetching = this.fetchBatch().finally(() => {
      this.fetching = undefined;
    });
  }

  /** Takes the next batch off the list, asks for it, and queues each file's answer. */
  private async fetchBatch(): Promise<void> {
    const batch: LocalFile[] = [];
    let bytes = 0;
    for (let file = this.waiting[0]; file; file = this.waiting[0]) {
      if (batch.length >= MAX_UPLOAD_BATCH || (batch.length > 0 && bytes + file.size > BATCH_BYTES))
        break;
      batch.push(file);
      bytes += file.size;
      this.waiting.shift();
    }
    const { signal } = this.options;
    const restUrl = this.client.config.restUrl;
    try {
      const requests: UploadRequest[] = batch.map((file) => ({
        filename: file.name,
        contentType: this.options.contentType ?? contentTypeOf(file.name),
        size: file.size,
      }));
      if (this.options.checksum) {
        // A few files read at once: the disk is kept busy without a listener per file on the
        // run's abort signal.
        let next = 0;
        await Promise.all(
          Array.from({ length: HASHES_AT_ONCE }, async () => {
            for (let i = next++; i < batch.length; i = next++) {
              const file = batch[i];
              const request = requests[i];
              if (!file || !request) continue;
              requests[i] = { ...request, checksumSha256: await sha256Of(file.path, signal) };
            }
          }),
        );
      }
      const at = new Date().toISOString();
      for (const file of batch) {
        this.journal.set(fileFingerprint(restUrl, file), {
          state: 'requested',
          path: file.path,
          filename: file.name,
          size: file.size,
          at,
        });
      }
      this.requests++;
      const { items } = await this.client.api.createUploads(requests, signal);
      if (items.length !== batch.length) {
        throw new Error(`The API answered ${items.length} items for a batch of ${batch.length}`);
      }
      batch.forEach((file, i) => {
        const item = items[i];
        const request = requests[i];
        if (!item || !request) return;
        const fp = fileFingerprint(restUrl, file);
        if ('error' in item) {
          // Nothing was recorded for it: nothing to find again.
          this.journal.delete(fp);
          this.ready.push({ file, refused: item.error });
          return;
        }
        this.journal.set(fp, {
          fileId: item.fileId,
          method: item.upload.method === 'MULTIPART' ? 'MULTIPART' : 'POST',
          state: 'started',
          path: file.path,
          at: new Date().toISOString(),
        });
        this.ready.push({
          file,
          created: item,
          contentType: request.contentType,
          ...(request.checksumSha256 && { checksumSha256: request.checksumSha256 }),
        });
      });
    } catch (failure) {
      for (const file of batch) this.ready.push({ file, failure });
    }
  }
}
