import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../domain/contracts.ts';
import type { Derivative, EndStatus, FileMetadata, FileRecord } from '../domain/file-record.ts';
import type { FileKind } from '../domain/kinds.ts';

export { EVENT_SOURCE };

export type FileEventType =
  | 'file.processing'
  | 'file.processed'
  | 'file.failed'
  | 'file.rejected'
  | 'file.deleted';

export const detailTypeFor = (status: EndStatus): FileEventType =>
  status === 'PROCESSED' ? 'file.processed' : status === 'FAILED' ? 'file.failed' : 'file.rejected';

/** The public detail of a `file.*` event (docs/architecture.md, "Events on the custom bus"). */
export interface FileEventDetail {
  readonly fileId: string;
  readonly ownerId: string;
  /** The name the owner gave the file (added after the first release: rules may find it absent). */
  readonly filename: string;
  readonly bucket: string;
  readonly key: string;
  /** How it was processed (shared/domain/kinds.ts). */
  readonly kind: FileKind;
  /** A tabular file's dataset. */
  readonly dataset?: string;
  /** The S3 version whose bytes were checked: read the object with it. */
  readonly versionId?: string;
  readonly size: number;
  readonly contentType: string;
  readonly sha256: string | null;
  readonly status: string;
  readonly metadata: FileMetadata;
  readonly derivatives: readonly Derivative[];
  readonly reason?: string;
  /**
   * The same for every publication of one outcome (an end state or a deletion), different for
   * each run's: the event is published at least once (a retry after the publication and before
   * its record republishes it), and consumers drop a repeat by this id. Absent on a run's start.
   */
  readonly outcomeId?: string;
}

/**
 * The id of the outcome a record holds: its file, its status and when that status was written,
 * which a republication of the same outcome reads unchanged and a new run rewrites.
 */
export const outcomeIdOf = (file: FileRecord): string | undefined => {
  if (file.status === 'DELETED') return `${file.fileId}:DELETED:${file.updatedAt.toISOString()}`;
  if (file.status !== 'PROCESSED' && file.status !== 'FAILED' && file.status !== 'REJECTED') {
    return undefined;
  }
  return `${file.fileId}:${file.status}:${(file.processedAt ?? file.updatedAt).toISOString()}`;
};

/** Most bytes of metadata an event carries: EventBridge takes entries up to 256 KB. */
const MAX_EVENT_METADATA_BYTES = 64 * 1024;

/**
 * The metadata as events carry it: a table's preview rows stay on the record (`GET
 * /files/{fileId}`), and a summary too large for an event (a table of very many columns) keeps
 * its counts but not its columns.
 */
const eventMetadata = (metadata: FileMetadata): FileMetadata => {
  if (!metadata.tabular) return metadata;
  const { preview: _preview, ...tabular } = metadata.tabular;
  const slim = { ...metadata, tabular: { ...tabular, preview: { columns: [], rows: [] } } };
  if (JSON.stringify(slim).length <= MAX_EVENT_METADATA_BYTES) return slim as FileMetadata;
  return { ...slim, tabular: { ...slim.tabular, columns: [] } } as FileMetadata;
};

/**
 * The detail of a file's event. It names the exact object version that was checked
 * (`versionId`), so a rule that reads the object reads those bytes. A deleted file's event
 * carries no metadata or derivatives: they are gone.
 */
export const eventDetail = (file: FileRecord): FileEventDetail => {
  const outcomeId = outcomeIdOf(file);
  return {
    fileId: file.fileId,
    ownerId: file.ownerId,
    filename: file.filename,
    bucket: file.bucket,
    key: file.key,
    kind: file.kind,
    ...(file.dataset !== null && { dataset: file.dataset }),
    ...(file.versionId !== null && { versionId: file.versionId }),
    size: file.size,
    contentType: file.contentType,
    sha256: file.sha256,
    status: file.status,
    metadata: file.status === 'DELETED' ? {} : eventMetadata(file.metadata),
    derivatives: file.status === 'DELETED' ? [] : file.derivatives,
    ...(file.reason !== null && { reason: file.reason }),
    ...(outcomeId !== undefined && { outcomeId }),
  };
};

/** Puts `file.*` events on the custom bus; a rejected entry is an error, so it is retried. */
export class FileEventPublisher {
  constructor(
    private readonly eventBridge: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(type: FileEventType, file: FileRecord): Promise<void> {
    await this.put(type, eventDetail(file), file.fileId);
  }

  /** Puts one event with this detail on the bus; a rejected entry is thrown. */
  async put(type: string, detail: unknown, fileId: string): Promise<void> {
    const result = await this.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: type,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.[0];
      throw new Error(
        `EventBridge refused ${type} for ${fileId}: ${entry?.ErrorCode} ${entry?.ErrorMessage}`,
      );
    }
  }
}
