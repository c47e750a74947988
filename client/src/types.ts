/**
 * The shapes of docs/openapi.yaml, as TypeScript. The unit test `client-types` checks these
 * against the document, so the two cannot drift apart silently.
 */
export type FileStatus =
  | 'PENDING_UPLOAD'
  | 'UPLOADED'
  | 'PROCESSING'
  | 'PROCESSED'
  | 'FAILED'
  | 'REJECTED'
  | 'EXPIRED'
  | 'DELETED';

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNPROCESSABLE'
  | 'TOO_MANY_REQUESTS'
  | 'INTERNAL'
  | 'UNAVAILABLE';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** How a file is processed, each kind by its own function (docs/openapi.yaml FileKind). */
export type FileKind = 'image' | 'tabular' | 'logs' | 'other' | 'video';

export interface UploadRequest {
  filename: string;
  contentType: string;
  size: number;
  checksumSha256?: string;
  /** A shorter life for the upload URL than the stage's, for a client that sends at once. */
  expiresInSeconds?: number;
  /** How to process it; default from its type and name. */
  kind?: FileKind;
  /** Tabular files: the dataset it joins; default from the filename. */
  dataset?: string;
}

export type UploadInstructions =
  | { method: 'POST'; url: string; fields: Record<string, string> }
  | { method: 'PUT'; url: string; headers: Record<string, string> }
  | {
      method: 'MULTIPART';
      uploadId: string;
      partSize: number;
      partCount: number;
      checksumAlgorithm: 'CRC64NVME';
    };

export interface UploadResponse {
  fileId: string;
  kind: FileKind;
  dataset?: string;
  expiresAt: string;
  upload: UploadInstructions;
}

/** Files one `POST /uploads/batch` may ask for. */
export const MAX_UPLOAD_BATCH = 100;

/** One file's answer in a batch: its upload, or the error `POST /uploads` would have given. */
export type UploadBatchItem = UploadResponse | ErrorBody;

export interface UploadBatchResponse {
  /** One per file, in the request's order. */
  items: UploadBatchItem[];
}

export interface SignedParts {
  fileId: string;
  expiresAt: string;
  parts: { partNumber: number; url: string }[];
}

export interface ListedParts {
  fileId: string;
  partSize: number;
  partCount: number;
  parts: { partNumber: number; size: number; etag: string; checksumCrc64nvme?: string }[];
}

export type CompleteResponse =
  | {
      fileId: string;
      status: 'UPLOADED';
      /** False when S3 gave no CRC64NVME to compare with the client's: the bytes went unchecked. */
      checksumVerified: boolean;
      /** S3's CRC64NVME of the bytes, only when it gave one (then equal to the client's). */
      checksumCrc64nvme?: string;
    }
  | { fileId: string; status: 'REJECTED'; reason: string };

export interface FileSummary {
  fileId: string;
  filename: string;
  status: FileStatus;
  size: number;
  contentType: string;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  /** A short-lived URL of a processed image's thumbnail. */
  thumbnailUrl?: string | null;
}

export interface FilePage {
  items: FileSummary[];
  nextCursor: string | null;
}

export interface Derivative {
  name: string;
  url: string;
  expiresAt: string;
  contentType: string;
  /** Pictures only. */
  width?: number;
  height?: number;
  size: number;
}

export interface ImageMetadata {
  format: string;
  width: number;
  height: number;
  orientation?: number;
  colorSpace?: string;
  hasAlpha?: boolean;
  exif?: Record<string, string | number>;
}

/** Where a file's rows can be queried with Athena. */
export interface QueryableTable {
  database: string;
  table: string;
  location: string;
  partitions: string[];
  objects: string[];
}

export interface TabularColumn {
  name: string;
  sqlName: string;
  type: string;
  tableType: string;
  nullable: boolean;
  nullCount: number;
  min: string | null;
  max: string | null;
}

/** A tabular file's schema, counts and first rows, and its dataset's table. */
export interface TabularMetadata {
  format: 'csv' | 'ndjson' | 'json-array';
  delimiter?: string;
  header?: boolean;
  encoding: string;
  compression: 'gzip' | 'none';
  rowCount: number;
  columns: TabularColumn[];
  malformed: { count: number; examples: { line: number; reason: string }[] };
  preview: { columns: string[]; rows: (string | number | boolean | null)[][] };
  dataset: string;
  table: QueryableTable;
  added: string[];
  widened: string[];
}

/** A log file's summary, and the table its records joined. */
export interface LogMetadata {
  format: string;
  lines: number;
  parsed: number;
  unparsed: number;
  timeRange: { from: string; to: string } | null;
  levels: Record<string, number>;
  errorRate: number;
  topTemplates: { template: string; count: number }[];
  access?: {
    statusClasses: Record<string, number>;
    responseBytes: number;
    topPaths: { path: string; count: number }[];
    topClients: { client: string; count: number }[];
  };
  rows: number;
  table: QueryableTable;
}

/** A video's or audio file's probe (docs/video.md). */
export interface MediaMetadata {
  container: string;
  durationSeconds: number;
  bitRate?: number;
  creationTime?: string;
  video?: {
    codec: string;
    profile?: string;
    width: number;
    height: number;
    displayWidth: number;
    displayHeight: number;
    /** Clockwise degrees a player turns the frame. */
    rotation: number;
    frameRate?: number;
    variableFrameRate: boolean;
    bitRate?: number;
  };
  audio?: { codec: string; channels?: number; sampleRate?: number; bitRate?: number };
  notes?: string[];
}

export interface FileDetail extends FileSummary {
  kind: FileKind;
  /** A tabular file's dataset, else null. */
  dataset: string | null;
  declaredContentType: string;
  sha256: string | null;
  metadata: {
    image?: ImageMetadata;
    tabular?: TabularMetadata;
    logs?: LogMetadata;
    media?: MediaMetadata;
  };
  /** While a video is PROCESSING, the percentage of its transcode done; else null. */
  progress: number | null;
  processedAt: string | null;
  /** The S3 version the processor checked: downloads and derivatives name it. */
  versionId: string | null;
  uploadExpiresAt: string | null;
  download: { url: string; expiresAt: string } | null;
  derivatives: Derivative[];
}

/** What a failed step or execution said. */
export interface WorkflowError {
  error: string;
  cause: string | null;
}

export interface WorkflowStep {
  /** The state's name (`Probe`, `Transcode`, `Poster`, `Record`, `Publish`…). */
  name: string;
  type: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  enteredAt: string;
  exitedAt: string | null;
  durationMs: number | null;
  retries: number;
  error: WorkflowError | null;
}

/** `GET /files/{fileId}/workflow`: the execution of a video's current run. */
export interface FileWorkflow {
  fileId: string;
  executionArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  startedAt: string;
  stoppedAt: string | null;
  error: WorkflowError | null;
  truncated: boolean;
  steps: WorkflowStep[];
}

export type SortOrder = 'createdAt' | '-createdAt' | 'size' | '-size' | 'filename' | '-filename';

export interface FileQuery {
  status?: FileStatus;
  contentType?: string;
  q?: string;
  createdFrom?: string;
  createdTo?: string;
  sort?: SortOrder;
  limit?: number;
  cursor?: string;
}

export interface ReprocessResponse {
  fileId: string;
  status: 'UPLOADED';
  reprocessId: string;
}

/**
 * What the WebSocket pushes when a run starts on one of the user's files (`file.processing`),
 * while a long one (a video) is processed (`file.progress` with `progress` in percent) and when
 * the file ends. Pushes may arrive out of order: `at` tells which is newer.
 */
export interface FileEventMessage {
  type: 'file.processing' | 'file.processed' | 'file.failed' | 'file.rejected' | 'file.progress';
  eventId: string;
  fileId: string;
  /** How the file was processed. */
  kind?: FileKind;
  status: FileStatus;
  size?: number;
  contentType?: string;
  reason?: string;
  progress?: number;
  at?: string;
}
