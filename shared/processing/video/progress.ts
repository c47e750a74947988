import type { FileEventPublisher } from '../../adapters/event-publisher.ts';
import type { FileRepository } from '../../adapters/file-repository.ts';
import {
  FILE_PROGRESS,
  LOCAL_PROGRESS_SOURCE,
  MEDIACONVERT_SOURCE,
} from '../../domain/video-workflow.ts';

/** How far one file's run is, from whichever transcoder said it. */
export interface ProgressUpdate {
  readonly fileId: string;
  readonly objectVersion: string;
  readonly percent: number;
}

/** The EventBridge event the progress function receives, as much of it as it reads. */
export interface ProgressEvent {
  readonly source?: string;
  readonly detail?: Record<string, unknown>;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};

/**
 * Reads a MediaConvert status update (`detail.status` STATUS_UPDATE, `jobPercentComplete`, the
 * job's `userMetadata` naming the file) or the local transcoder's report. Undefined for any
 * other event: nothing to record.
 */
export const progressFromEvent = (event: ProgressEvent): ProgressUpdate | undefined => {
  const detail = asRecord(event.detail);
  let ids: Record<string, unknown>;
  let percent: unknown;
  if (event.source === MEDIACONVERT_SOURCE) {
    if (detail.status !== 'STATUS_UPDATE') return undefined;
    ids = asRecord(detail.userMetadata);
    percent = detail.jobPercentComplete;
  } else if (event.source === LOCAL_PROGRESS_SOURCE) {
    ids = detail;
    percent = detail.percent;
  } else {
    return undefined;
  }
  if (typeof ids.fileId !== 'string' || typeof ids.objectVersion !== 'string') return undefined;
  if (typeof percent !== 'number' || !Number.isFinite(percent)) return undefined;
  return { fileId: ids.fileId, objectVersion: ids.objectVersion, percent };
};

export interface ProgressDeps {
  readonly repository: Pick<FileRepository, 'recordProgress'>;
  readonly events: Pick<FileEventPublisher, 'put'>;
}

/** The detail of a `file.progress` event: enough for the owner's WebSocket message. */
export interface FileProgressDetail {
  readonly fileId: string;
  readonly ownerId: string;
  readonly status: 'PROCESSING';
  readonly progress: number;
  readonly size: number;
  readonly contentType: string;
}

/**
 * Records a run's progress on the file and, when it moved forward, puts `file.progress` on the
 * bus (the notifier sends it to the owner's connections). Reports arrive every few seconds at
 * most (MediaConvert's status interval, the local transcoder's own pace); one that moves
 * nothing (late, repeated, the file already ended) publishes nothing.
 */
export const recordProgress = async (
  deps: ProgressDeps,
  update: ProgressUpdate,
): Promise<FileProgressDetail | undefined> => {
  const file = await deps.repository.recordProgress(
    update.fileId,
    update.objectVersion,
    update.percent,
  );
  if (!file) return undefined;
  const detail: FileProgressDetail = {
    fileId: file.fileId,
    ownerId: file.ownerId,
    status: 'PROCESSING',
    progress: Math.max(0, Math.min(100, Math.floor(update.percent))),
    size: file.size,
    contentType: file.contentType,
  };
  await deps.events.put(FILE_PROGRESS, detail, file.fileId);
  return detail;
};
