import {
  combineCrc64,
  crc64FromBase64,
  crc64nvme,
  crc64ToBase64,
} from '../../shared/domain/crc64nvme.ts';
import type { SyncFlowApi } from './api.ts';
import { AbortError, ApiError, isAbort } from './errors.ts';
import {
  fingerprint,
  type JournalEntry,
  memoryJournal,
  type ResumeJournal,
  type UploadFile,
} from './journal.ts';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, sleep } from './retry.ts';
import { defaultTransport, TransferError, type Transport } from './transport.ts';
import type { CompleteResponse, UploadResponse } from './types.ts';

export interface UploadProgress {
  /** Bytes S3 has (parts confirmed) plus bytes of requests in flight. */
  readonly loaded: number;
  readonly total: number;
}

export interface UploadOptions {
  /** @default the File's name */
  readonly filename?: string;
  /** @default the File's type, or application/octet-stream */
  readonly contentType?: string;
  readonly onProgress?: (progress: UploadProgress) => void;
  /** Called once the server has recorded the file, before any byte is sent. */
  readonly onStarted?: (started: {
    fileId: string;
    method: 'POST' | 'MULTIPART';
    resumed: boolean;
  }) => void;
  /** Pause or cancel: aborts every request; a multipart upload can be resumed afterwards. */
  readonly signal?: AbortSignal;
  /** Parts in flight at once. @default 4 */
  readonly concurrency?: number;
  /** The file's SHA-256 (base64); the processor rejects bytes that differ (REJECTED). */
  readonly checksumSha256?: string;
  /**
   * The journal key of this file, for a caller that knows the file better than its Blob does
   * (the CLI: path, size, mtime and API). @default fingerprint(file, apiUrl, filename)
   */
  readonly resumeKey?: string;
  /**
   * The file's answer from `POST /uploads/batch` (`SyncFlowApi.createUploads`), when the caller
   * asked for many files at once: its bytes are sent as that answer says, with no request of
   * its own. It must be this file's (same filename, type and size).
   */
  readonly created?: UploadResponse;
}

export interface UploadResult {
  readonly fileId: string;
  readonly method: 'POST' | 'MULTIPART';
  /** PENDING_UPLOAD or UPLOADED: the processor takes it from here; REJECTED: the bytes differ. */
  readonly status: string;
  readonly reason?: string;
  /** The whole file's CRC64NVME as the client computed it while reading (multipart only). */
  readonly checksumCrc64nvme?: string;
  /**
   * Multipart only: whether the server compared that checksum with S3's (false where S3 gave
   * none: the upload went through unchecked).
   */
  readonly checksumVerified?: boolean;
  /** Whether parts from an earlier attempt were reused. */
  readonly resumed: boolean;
  readonly partsSent: number;
}

export interface UploaderOptions {
  readonly transport?: Transport;
  readonly journal?: ResumeJournal;
  readonly retry?: RetryPolicy;
  readonly stallTimeoutMs?: number;
  /** Part URLs asked for in one request. @default 32 */
  readonly signBatch?: number;
}

/** Re-sign a URL this long before the server said it expires. */
const URL_MARGIN_MS = 30_000;

/**
 * Uploads files the way the API asks: one presigned POST for a small file, parts in parallel for
 * a large one, each part hashed (CRC64NVME) as it is read and retried with backoff, the session
 * kept in a journal so that the same file chosen again resumes where S3 says it stopped.
 */
export class Uploader {
  private readonly transport: Transport;
  readonly journal: ResumeJournal;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly api: SyncFlowApi,
    private readonly apiUrl: string,
    private readonly options: UploaderOptions = {},
  ) {
    this.transport = options.transport ?? defaultTransport();
    this.journal = options.journal ?? memoryJournal();
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** The journal entry of an unfinished upload of this file, if there is one. */
  pending(file: UploadFile, filename?: string): JournalEntry | undefined {
    return this.journal.get(fingerprint(file, this.apiUrl, filename));
  }

  /** Gives up an unfinished upload of this file: aborts it on the server and forgets it. */
  async discard(file: UploadFile, filename?: string): Promise<void> {
    const key = fingerprint(file, this.apiUrl, filename);
    const entry = this.journal.get(key);
    if (!entry) return;
    await this.api.abortUpload(entry.fileId, entry.uploadId).catch((error: unknown) => {
      // Already aborted or completed: nothing left to give up.
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 409)))
        throw error;
    });
    this.journal.delete(key);
  }

  async upload(file: UploadFile, options: UploadOptions = {}): Promise<UploadResult> {
    const filename = options.filename ?? file.name ?? 'upload';
    const contentType = options.contentType ?? (file.type || 'application/octet-stream');
    const key = options.resumeKey ?? fingerprint(file, this.apiUrl, filename);
    const signal = options.signal;
    const report = (loaded: number) => options.onProgress?.({ loaded, total: file.size });

    let entry = this.journal.get(key);
    if (entry && options.created) {
      // Its answer would be dropped for the session in the journal: a record left behind.
      throw new Error(`${filename} has an unfinished upload to resume: ask for it alone`);
    }
    let present = new Map<number, number>();
    if (entry) {
      const found = await this.serverParts(entry, signal);
      if (found) present = found;
      else {
        this.journal.delete(key);
        entry = undefined;
      }
    }
    const resumed = entry !== undefined;
    if (!entry) {
      const created =
        options.created ??
        (await this.api.createUpload(
          {
            filename,
            contentType,
            size: file.size,
            ...(options.checksumSha256 && { checksumSha256: options.checksumSha256 }),
          },
          signal,
        ));
      const { upload } = created;
      if (upload.method !== 'MULTIPART') {
        options.onStarted?.({ fileId: created.fileId, method: 'POST', resumed: false });
        try {
          if (upload.method === 'PUT') {
            await this.transport.putPart(upload.url, file, {
              onProgress: report,
              ...(signal && { signal }),
            });
          } else {
            await this.transport.postForm(upload.url, upload.fields, file, {
              onProgress: report,
              ...(signal && { signal }),
              ...(this.options.stallTimeoutMs && { stallTimeoutMs: this.options.stallTimeoutMs }),
            });
          }
        } catch (error) {
          // Paused or cancelled: a POST cannot go on where it stopped, so the record made for
          // it would wait for bytes until it expired. It is given up (bytes that still land are
          // removed, never processed); a resume asks for a new one. Only on the caller's abort:
          // after a network error the bytes may have arrived.
          if (signal?.aborted) await this.api.deleteFile(created.fileId).catch(() => undefined);
          throw error;
        }
        report(file.size);
        return {
          fileId: created.fileId,
          method: 'POST',
          status: 'PENDING_UPLOAD',
          resumed: false,
          partsSent: 0,
        };
      }
      entry = {
        fileId: created.fileId,
        uploadId: upload.uploadId,
        partSize: upload.partSize,
        partCount: upload.partCount,
        filename,
        size: file.size,
        crcs: {},
        startedAt: new Date().toISOString(),
      };
      this.journal.set(key, entry);
    }
    options.onStarted?.({ fileId: entry.fileId, method: 'MULTIPART', resumed });
    const sent = await this.sendParts(file, key, entry, present, options);
    const complete = await this.complete(key, sent.entry, signal);
    this.journal.delete(key);
    return {
      fileId: entry.fileId,
      method: 'MULTIPART',
      status: complete.response.status,
      ...('reason' in complete.response && { reason: complete.response.reason }),
      checksumCrc64nvme: complete.checksum,
      ...('checksumVerified' in complete.response && {
        checksumVerified: complete.response.checksumVerified,
      }),
      resumed,
      partsSent: sent.partsSent,
    };
  }

  /** The parts S3 holds (number → size), or undefined when the session is gone. */
  private async serverParts(entry: JournalEntry, signal?: AbortSignal) {
    try {
      const listed = await this.api.listParts(entry.fileId, entry.uploadId, signal);
      if (listed.partSize !== entry.partSize || listed.partCount !== entry.partCount)
        return undefined;
      return new Map(listed.parts.map((p) => [p.partNumber, p.size]));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 409))
        return undefined;
      throw error;
    }
  }

  private async sendParts(
    file: UploadFile,
    key: string,
    initial: JournalEntry,
    present: Map<number, number>,
    options: UploadOptions,
  ): Promise<{ entry: JournalEntry; partsSent: number }> {
    let entry = initial;
    const signal = options.signal;
    const sizeOf = (n: number) =>
      n < entry.partCount ? entry.partSize : file.size - entry.partSize * (entry.partCount - 1);
    const done = new Set<number>();
    for (const [n, size] of present) if (size === sizeOf(n)) done.add(n);
    const todo: number[] = [];
    for (let n = 1; n <= entry.partCount; n++) if (!done.has(n) || !entry.crcs[n]) todo.push(n);

    let confirmed = 0;
    for (const n of done) confirmed += sizeOf(n);
    const inFlight = new Map<number, number>();
    const report = () => {
      let loaded = confirmed;
      for (const bytes of inFlight.values()) loaded += bytes;
      options.onProgress?.({ loaded, total: file.size });
    };
    report();

    const urls = new Map<number, { url: string; expiresAt: number }>();
    const batch = this.options.signBatch ?? 32;
    // Workers that need URLs at the same moment share one signing request.
    const signing = new Map<number, Promise<void>>();
    const urlFor = async (n: number): Promise<string> => {
      for (;;) {
        const known = urls.get(n);
        if (known && known.expiresAt - URL_MARGIN_MS > Date.now()) return known.url;
        const inFlight = signing.get(n);
        if (!inFlight) break;
        await inFlight;
        if (urls.get(n) === known) break;
      }
      await sign([n, ...todo.filter((m) => m > n && stale(m) && !signing.has(m))].slice(0, batch));
      const url = urls.get(n)?.url;
      if (!url) throw new Error(`The server signed no URL for part ${n}`);
      // Sign the next batch while these parts are sent, so no worker waits for URLs later.
      const ahead = todo.filter((m) => m > n && !stale(m)).length;
      if (ahead < batch / 2) {
        const next = todo.filter((m) => m > n && stale(m) && !signing.has(m)).slice(0, batch);
        if (next.length > 0) sign(next).catch(() => undefined);
      }
      return url;
    };
    const stale = (m: number) => {
      const known = urls.get(m);
      return !known || known.expiresAt - URL_MARGIN_MS <= Date.now();
    };
    const sign = (wanted: number[]): Promise<void> => {
      const request = this.api
        .signParts(entry.fileId, entry.uploadId, wanted, signal)
        .then((signed) => {
          const expiresAt = Date.parse(signed.expiresAt);
          for (const part of signed.parts) urls.set(part.partNumber, { url: part.url, expiresAt });
        });
      const settled = request.finally(() => {
        for (const m of wanted) if (signing.get(m) === settled) signing.delete(m);
      });
      for (const m of wanted) signing.set(m, settled);
      return settled;
    };

    let partsSent = 0;
    const sendOne = async (n: number) => {
      const start = (n - 1) * entry.partSize;
      const bytes = new Uint8Array(await file.slice(start, start + sizeOf(n)).arrayBuffer());
      const crc = crc64ToBase64(crc64nvme(bytes));
      if (!done.has(n)) {
        for (let attempt = 0; ; attempt++) {
          if (signal?.aborted) throw new AbortError();
          try {
            const url = await urlFor(n);
            await this.transport.putPart(url, bytes, {
              onProgress: (loaded) => {
                inFlight.set(n, loaded);
                report();
              },
              ...(signal && { signal }),
              ...(this.options.stallTimeoutMs && { stallTimeoutMs: this.options.stallTimeoutMs }),
            });
            break;
          } catch (error) {
            inFlight.delete(n);
            if (isAbort(error) || signal?.aborted) throw new AbortError();
            if (attempt >= this.retry.retries) throw error;
            // An expired or refused URL is signed again; anything else waits first.
            if (error instanceof TransferError && error.status === 403) urls.delete(n);
            await sleep(backoffDelay(attempt + 1, this.retry), signal);
          }
        }
        inFlight.delete(n);
        confirmed += bytes.byteLength;
        partsSent++;
        report();
      }
      entry = { ...entry, crcs: { ...entry.crcs, [n]: crc } };
      this.journal.set(key, entry);
    };

    const queue = [...todo];
    const workers = Array.from(
      { length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) },
      async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) await sendOne(n);
      },
    );
    const results = await Promise.allSettled(workers);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { entry, partsSent };
  }

  private async complete(
    _key: string,
    entry: JournalEntry,
    signal?: AbortSignal,
  ): Promise<{ response: CompleteResponse; checksum: string }> {
    let crc: bigint | undefined;
    for (let n = 1; n <= entry.partCount; n++) {
      const partCrc = entry.crcs[n];
      if (!partCrc) throw new Error(`Part ${n} has no checksum`);
      const size =
        n < entry.partCount ? entry.partSize : entry.size - entry.partSize * (entry.partCount - 1);
      const value = crc64FromBase64(partCrc);
      crc = crc === undefined ? value : combineCrc64(crc, value, size);
    }
    const checksum = crc64ToBase64(crc ?? 0n);
    const response = await this.api.completeUpload(entry.fileId, entry.uploadId, checksum, signal);
    return { response, checksum };
  }
}
