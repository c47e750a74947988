import type { ObjectBody } from '../adapters/object-store.ts';
import type { FileMetadata, FileRecord } from '../domain/file-record.ts';

/** One object version for a kind's pipeline: the claimed record, and how to read its bytes. */
export interface KindWork {
  /** The record as the run claimed it (PROCESSING). */
  readonly file: FileRecord;
  readonly bucket: string;
  /** The exact version being checked, when the bucket gave one. */
  readonly versionId?: string;
  /** Set when the run is an explicit reprocess request (a new video execution is named by it). */
  readonly reprocessId?: string;
  /**
   * Opens that version from its first byte. A kind may open it more than once (the checks
   * read it once, a converter again): every call is a new GET of the same version.
   */
  readonly open: () => Promise<ObjectBody>;
}

/** A derivative a pipeline made, for the shared step to write under `derived/`. */
export interface MadeDerivative {
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  /** In memory (a thumbnail), or a local file to stream (a table's Parquet). */
  readonly data: Buffer | { readonly path: string };
  readonly width?: number;
  readonly height?: number;
}

interface Common {
  readonly size: number;
  readonly sha256: string;
  readonly contentType: string;
}

/** What a kind's pipeline decided about a file; the shared step records and publishes it. */
export type KindResult =
  | (Common & {
      readonly status: 'PROCESSED';
      readonly metadata: FileMetadata;
      readonly derivatives: readonly MadeDerivative[];
      /** Removes local files the derivatives were read from, once they are written. */
      readonly cleanup?: () => Promise<void>;
    })
  | (Common & {
      /**
       * The file's end is another's to write: the video kind hands a checked file to its state
       * machine, whose steps record and publish the end (docs/video.md). The file stays
       * PROCESSING meanwhile.
       */
      readonly status: 'PROCESSING';
      /** What took the file over (an execution's ARN). */
      readonly handedOffTo: string;
      /** False when it had it already (a replayed event, a redelivered message). */
      readonly started: boolean;
    })
  | (Common & {
      readonly status: 'FAILED' | 'REJECTED';
      readonly reason: string;
      /** What a library said, for the log only: the reason is our own sentence. */
      readonly cause?: unknown;
    });

/**
 * A kind's work on one object version: the user's mistakes end FAILED or REJECTED with a
 * reason, or the file is handed to a longer-running workflow (PROCESSING); only errors a retry
 * could mend are thrown. Each kind's folder under
 * shared/processing/ exports one.
 */
export type KindPipeline = (work: KindWork) => Promise<KindResult>;
