/**
 * What the WebSocket tells a file's owner when a run starts on a file, how far a long run is
 * (`file.progress`, a video's transcode) and when the file ends (docs/architecture.md,
 * "WebSocket"). Only the facts a client needs to decide what to do next: metadata, EXIF and
 * derivatives stay out (the client reads them with `GET /files/{fileId}`), so a message always
 * fits in one API Gateway frame.
 */
export const NOTIFIED_TYPES = [
  'file.processing',
  'file.processed',
  'file.failed',
  'file.rejected',
  'file.progress',
] as const;
export type NotifiedType = (typeof NOTIFIED_TYPES)[number];

export interface FileNotification {
  readonly type: NotifiedType;
  /**
   * The same for every delivery of one event and every publication of one outcome (the event's
   * `outcomeId`, else the bus event's id), so a client can drop repeats.
   */
  readonly eventId: string;
  readonly fileId: string;
  /** How the file was processed (shared/domain/kinds.ts). */
  readonly kind?: string;
  readonly status: string;
  readonly size: number;
  readonly contentType: string;
  readonly reason?: string;
  /** Percent done, on `file.progress` only. */
  readonly progress?: number;
  readonly at: string;
}

/** API Gateway's WebSocket frame is 32 KiB; a message stays well inside one. */
export const MAX_NOTIFICATION_BYTES = 16 * 1024;
const MAX_REASON_CHARS = 2000;

export const isNotifiedType = (value: string): value is NotifiedType =>
  (NOTIFIED_TYPES as readonly string[]).includes(value);

/** The EventBridge event the notifier receives, as much of it as it reads. */
export interface FileEventEnvelope {
  readonly id: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: {
    readonly fileId?: unknown;
    readonly ownerId?: unknown;
    readonly kind?: unknown;
    readonly filename?: unknown;
    readonly status?: unknown;
    readonly size?: unknown;
    readonly contentType?: unknown;
    readonly reason?: unknown;
    readonly progress?: unknown;
    readonly outcomeId?: unknown;
  };
}

/**
 * The owner and the message of a `file.*` event; throws on an event that is not one of ours
 * (a retry will not help it: the caller logs and drops it).
 */
export const notificationFor = (
  event: FileEventEnvelope,
): { ownerId: string; message: FileNotification } => {
  const type = event['detail-type'];
  const { detail } = event;
  if (!isNotifiedType(type)) throw new Error(`Not a notified event type: ${type}`);
  if (typeof detail.ownerId !== 'string' || detail.ownerId === '') {
    throw new Error('The event names no owner');
  }
  if (typeof detail.fileId !== 'string' || typeof detail.status !== 'string') {
    throw new Error('The event names no file or status');
  }
  const reason =
    typeof detail.reason === 'string'
      ? detail.reason.length > MAX_REASON_CHARS
        ? `${detail.reason.slice(0, MAX_REASON_CHARS)}…`
        : detail.reason
      : undefined;
  const message: FileNotification = {
    type,
    // One outcome's repeats (published at least once) share its outcomeId: clients drop them.
    eventId:
      typeof detail.outcomeId === 'string' && detail.outcomeId !== '' ? detail.outcomeId : event.id,
    fileId: detail.fileId,
    ...(typeof detail.kind === 'string' && { kind: detail.kind.slice(0, 32) }),
    status: detail.status,
    size: typeof detail.size === 'number' ? detail.size : 0,
    contentType: typeof detail.contentType === 'string' ? detail.contentType.slice(0, 255) : '',
    ...(reason !== undefined && { reason }),
    ...(type === 'file.progress' &&
      typeof detail.progress === 'number' &&
      Number.isFinite(detail.progress) && {
        progress: Math.max(0, Math.min(100, Math.floor(detail.progress))),
      }),
    at: event.time,
  };
  return { ownerId: detail.ownerId, message };
};

/**
 * Whether putting a file through the processor again can end it otherwise. Never for REJECTED:
 * its bytes are judged the same way again. For FAILED only when it failed on our side (a run cut
 * short, retries spent, never processed: the reasons of lifecycle.ts `STUCK_REASONS`, which end
 * by saying so), not when the file itself cannot be processed (empty, truncated, too many pixels).
 */
export const reprocessMayHelp = (status: string, reason: string | undefined): boolean =>
  status === 'FAILED' && reason !== undefined && /Reprocess the file to try again/.test(reason);
