import type { ObjectBody } from '../adapters/object-store.ts';
import type { FileMetadata, FileRecord } from '../domain/file-record.ts';

/** One object version for a kind's pipeline: the claimed record, and how to read its bytes. */
export interface KindWork {
  /** The record as the run claimed it (PROCESSING). */
  readonly file: FileRecord;
  readonly bucket: string;
  /** The exact version being checked, when the bucket gave one. */
  readonly versionId?: string;
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
      readonly status: 'FAILED' | 'REJECTED';
      readonly reason: string;
      /** What a library said, for the log only: the reason is our own sentence. */
      readonly cause?: unknown;
    });

/**
 * A kind's work on one object version: the user's mistakes end FAILED or REJECTED with a
 * reason; only errors a retry could mend are thrown. Each kind's folder under
 * shared/processing/ exports one.
 */
export type KindPipeline = (work: KindWork) => Promise<KindResult>;
