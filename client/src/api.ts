import { createHttp, type HttpOptions, type HttpRequest } from './http.ts';
import type {
  CompleteResponse,
  FileDetail,
  FilePage,
  FileQuery,
  FileSummary,
  FileWorkflow,
  ListedParts,
  ReprocessResponse,
  SignedParts,
  UploadBatchResponse,
  UploadRequest,
  UploadResponse,
} from './types.ts';

/**
 * The REST API of docs/openapi.yaml, one typed method per operation. Errors are `ApiError`s
 * with the status, the contract's code, the request id and the body.
 */
export class SyncFlowApi {
  readonly request: HttpRequest;

  constructor(options: HttpOptions) {
    this.request = createHttp(options);
  }

  createUpload(body: UploadRequest, signal?: AbortSignal): Promise<UploadResponse> {
    // Never repeated: a second POST would record a second file.
    return this.request('POST', 'uploads', { body, ...(signal && { signal }) });
  }

  /**
   * Records up to MAX_UPLOAD_BATCH files in one request: one item per file, in order, each its
   * upload or its own error. A batch over the user's limits is refused whole (a 429, retried
   * after `Retry-After` like any 429: nothing was recorded). Never repeated otherwise: a second
   * POST would record the files again.
   */
  createUploads(files: UploadRequest[], signal?: AbortSignal): Promise<UploadBatchResponse> {
    return this.request('POST', 'uploads/batch', { body: { files }, ...(signal && { signal }) });
  }

  signParts(
    fileId: string,
    uploadId: string,
    partNumbers: number[],
    signal?: AbortSignal,
  ): Promise<SignedParts> {
    return this.request('POST', `uploads/${encodeURIComponent(fileId)}/parts`, {
      body: { uploadId, partNumbers },
      retrySafe: true,
      ...(signal && { signal }),
    });
  }

  listParts(fileId: string, uploadId: string, signal?: AbortSignal): Promise<ListedParts> {
    return this.request('GET', `uploads/${encodeURIComponent(fileId)}/parts`, {
      query: { uploadId },
      ...(signal && { signal }),
    });
  }

  completeUpload(
    fileId: string,
    uploadId: string,
    checksumCrc64nvme: string,
    signal?: AbortSignal,
  ): Promise<CompleteResponse> {
    return this.request('POST', `uploads/${encodeURIComponent(fileId)}/complete`, {
      body: { uploadId, checksumCrc64nvme },
      retrySafe: true,
      ...(signal && { signal }),
    });
  }

  abortUpload(fileId: string, uploadId: string): Promise<void> {
    return this.request('DELETE', `uploads/${encodeURIComponent(fileId)}`, { query: { uploadId } });
  }

  listFiles(query: FileQuery = {}, signal?: AbortSignal): Promise<FilePage> {
    return this.request('GET', 'files', {
      query: { ...query },
      ...(signal && { signal }),
    });
  }

  /** Every file that matches, page after page, following `nextCursor`. */
  async *files(query: Omit<FileQuery, 'cursor'> = {}): AsyncGenerator<FileSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.listFiles({ ...query, ...(cursor && { cursor }) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  getFile(fileId: string, signal?: AbortSignal): Promise<FileDetail> {
    return this.request('GET', `files/${encodeURIComponent(fileId)}`, {
      ...(signal && { signal }),
    });
  }

  /** The Step Functions execution of a video's current run and its steps (404 for other kinds). */
  getFileWorkflow(fileId: string, signal?: AbortSignal): Promise<FileWorkflow> {
    return this.request('GET', `files/${encodeURIComponent(fileId)}/workflow`, {
      ...(signal && { signal }),
    });
  }

  deleteFile(fileId: string): Promise<void> {
    return this.request('DELETE', `files/${encodeURIComponent(fileId)}`);
  }

  reprocessFile(fileId: string): Promise<ReprocessResponse> {
    return this.request('POST', `files/${encodeURIComponent(fileId)}/reprocess`);
  }
}
