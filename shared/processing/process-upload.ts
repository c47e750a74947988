import type { FileEventPublisher } from '../adapters/event-publisher.ts';
import { detailTypeFor } from '../adapters/event-publisher.ts';
import type { FileRepository } from '../adapters/file-repository.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import { analyticsObjects } from '../domain/analytics-summary.ts';
import type { Derivative, FileRecord } from '../domain/file-record.ts';
import { derivedKey, derivedPrefix, parseUploadKey } from '../domain/keys.ts';
import { STUCK_REASONS } from '../domain/lifecycle.ts';
import { type ObjectRef, objectVersionOf } from '../domain/object-ref.ts';
import type { KindPipeline, MadeDerivative } from './kind-pipeline.ts';

/** Where a run stands: which delivery of its message it is, and when it will be stopped. */
export interface RunContext {
  /** ApproximateReceiveCount of the message. */
  readonly attempts: number;
  /** When the function is stopped by its timeout. */
  readonly deadline: Date;
  /** Set when the run is an explicit reprocess request. */
  readonly reprocessId?: string;
}

export interface ProcessDeps {
  readonly repository: FileRepository;
  readonly store: ObjectStore;
  readonly events: FileEventPublisher;
  /** The kind's own work on the bytes (image, tabular, logs, other). */
  readonly pipeline: KindPipeline;
  /**
   * Runs once the file is claimed and before its bytes are read: where the local stage injects
   * its faults (shared/processing/faults.ts). Never set in AWS stages.
   */
  readonly beforeRun?: (file: FileRecord, run: RunContext) => Promise<void>;
  /**
   * Told when `file.processing` could not be published. That event only lets the owner see the
   * file move on screen: its loss must not fail the file, so it is logged, not thrown.
   */
  readonly onAnnounceFailed?: (error: unknown) => void;
}

export type ProcessOutcome =
  | {
      readonly kind: 'done';
      readonly file: FileRecord;
      /** Whether this call published the outcome's event (a retry may find it already out). */
      readonly published: boolean;
      /** What a library said about a FAILED file, for the log. */
      readonly cause?: unknown;
    }
  /** The kind's pipeline handed the file to a workflow that records and publishes its end. */
  | {
      readonly kind: 'handed-off';
      readonly fileId: string;
      readonly to: string;
      /** False when the workflow had it already (a replay). */
      readonly started: boolean;
    }
  | { readonly kind: 'skipped'; readonly reason: string; readonly fileId?: string }
  /** Object versions nobody may be served were looked for and `count` removed. */
  | {
      readonly kind: 'removed';
      readonly reason: string;
      readonly fileId: string;
      readonly count: number;
    };

/** The metadata a derivative carries in S3: the original's version it was made from. */
export const SOURCE_VERSION_METADATA = 'source-version-id';

/** Writes one derivative under the file's `derived/` prefix, naming the original's version. */
const writeDerivative = async (
  deps: ProcessDeps,
  ref: ObjectRef,
  ids: { ownerId: string; fileId: string },
  made: MadeDerivative,
): Promise<Derivative> => {
  const key = derivedKey(ids.ownerId, ids.fileId, made.name);
  const metadata = { ...(ref.versionId && { [SOURCE_VERSION_METADATA]: ref.versionId }) };
  const written = Buffer.isBuffer(made.data)
    ? await deps.store.put(ref.bucket, key, made.data, made.contentType, metadata)
    : await deps.store.putFile(ref.bucket, key, made.data.path, made.contentType, metadata);
  return {
    name: made.name,
    key,
    contentType: made.contentType,
    ...(made.width !== undefined && { width: made.width }),
    ...(made.height !== undefined && { height: made.height }),
    size: made.size,
    ...(written.versionId && { versionId: written.versionId }),
    ...(ref.versionId && { sourceVersionId: ref.versionId }),
  };
};

/** Removes every version of whatever is under a file's `derived/` prefix. */
const removeDerivatives = async (
  deps: ProcessDeps,
  bucket: string,
  ids: { ownerId: string; fileId: string },
): Promise<void> => {
  await deps.store.deleteEverything(bucket, [derivedPrefix(ids.ownerId, ids.fileId)]);
};

/**
 * Publishes the event of a file's end state once: a retry that finds it already out does not
 * publish it again.
 */
const publishOnce = async (
  deps: Pick<ProcessDeps, 'repository' | 'events'>,
  file: FileRecord,
): Promise<boolean> => {
  if (file.status === 'DELETED' || file.publishedStatus === file.status) return false;
  if (file.status !== 'PROCESSED' && file.status !== 'FAILED' && file.status !== 'REJECTED') {
    return false;
  }
  await deps.events.publish(detailTypeFor(file.status), file);
  await deps.repository.markPublished(file.fileId, file.status);
  return true;
};

/**
 * Keeps the bucket to what may be served: under a deleted file's key nothing (every version of
 * the original and its derivatives goes), under a file that holds a checked version that
 * version alone. Versions that arrived otherwise (a form sent again, a second version while
 * the first was checked) are removed. Safe to repeat.
 */
export const removeUncheckedVersions = async (
  deps: Pick<ProcessDeps, 'store'>,
  file: FileRecord,
): Promise<ProcessOutcome> => {
  if (file.status === 'DELETED') {
    const count = await deps.store.deleteEverything(file.bucket, [
      file.key,
      derivedPrefix(file.ownerId, file.fileId),
    ]);
    return { kind: 'removed', reason: 'the file was deleted', fileId: file.fileId, count };
  }
  if (!file.versionId) {
    // Unversioned buckets (never ours) cannot tell versions apart: removing would remove all.
    return { kind: 'skipped', reason: 'another object under a checked key', fileId: file.fileId };
  }
  const count = await deps.store.deleteVersionsExcept(file.bucket, file.key, file.versionId);
  return {
    kind: 'removed',
    reason: `versions other than the checked version ${file.versionId}`,
    fileId: file.fileId,
    count,
  };
};

/**
 * For an event the idempotency store stopped as a replay: the event may still announce a new
 * version (an emulator's event without `version-id` and the same bytes sent again look like a
 * replay), so the file's key is held to what may be served. Does nothing for a file that holds
 * no version yet.
 */
export const tidyAfterReplay = async (
  deps: Pick<ProcessDeps, 'store' | 'repository'>,
  ref: ObjectRef,
): Promise<ProcessOutcome | undefined> => {
  const ids = parseUploadKey(ref.key);
  if (!ids) return undefined;
  const file = await deps.repository.get(ids.fileId);
  if (!file || file.ownerId !== ids.ownerId) return undefined;
  if (file.status !== 'DELETED' && file.versionId === null) return undefined;
  return removeUncheckedVersions(deps, file);
};

/** Whether a file holds a checked version that other versions under its key must yield to. */
const holdsAnotherVersion = (file: FileRecord, version: string): boolean =>
  file.objectVersion !== null && file.objectVersion !== version;

/**
 * The event's object with its version id: as the event gives it (AWS), or found by its ETag
 * among the key's versions (an event without one). Undefined when that version is gone.
 */
const withVersionId = async (
  deps: ProcessDeps,
  ref: ObjectRef,
  key: string,
): Promise<ObjectRef | undefined> => {
  if (ref.versionId || !ref.etag) return ref;
  const versionId = await deps.store.versionWithEtag(ref.bucket, key, ref.etag);
  return versionId ? { ...ref, versionId } : undefined;
};

export const processUpload = async (
  deps: ProcessDeps,
  eventRef: ObjectRef,
  run: RunContext,
): Promise<ProcessOutcome> => {
  const ids = parseUploadKey(eventRef.key);
  if (!ids) return { kind: 'skipped', reason: `not an upload key: ${eventRef.key}` };
  const existing = await deps.repository.get(ids.fileId);
  if (!existing || existing.ownerId !== ids.ownerId) {
    return { kind: 'skipped', reason: 'no upload was requested for this key', fileId: ids.fileId };
  }
  if (existing.status === 'DELETED') return removeUncheckedVersions(deps, existing);
  const ref = await withVersionId(deps, eventRef, existing.key);
  if (!ref) return { kind: 'skipped', reason: 'the object version is gone', fileId: ids.fileId };
  const version = objectVersionOf(ref);
  if (holdsAnotherVersion(existing, version)) return removeUncheckedVersions(deps, existing);
  if (
    existing.status === 'PROCESSED' ||
    existing.status === 'REJECTED' ||
    // A FAILED outcome whose event a database outage kept from being recorded as published: a
    // retry of the message that ended it completes that outcome (the same outcomeId) rather
    // than running the file again.
    (existing.status === 'FAILED' && existing.publishedStatus === null && !run.reprocessId)
  ) {
    const published = await publishOnce(deps, existing);
    if (published) return { kind: 'done', file: existing, published };
    return { kind: 'skipped', reason: `already ${existing.status}`, fileId: ids.fileId };
  }

  const started = await deps.repository.startProcessing(ids.fileId, {
    objectVersion: version,
    versionId: ref.versionId ?? null,
    attempts: run.attempts,
    deadline: run.deadline,
  });
  if (!started) {
    // Another run moved it meanwhile: deleted it, or claimed it for another version.
    const now = await deps.repository.get(ids.fileId);
    if (now && (now.status === 'DELETED' || holdsAnotherVersion(now, version))) {
      return removeUncheckedVersions(deps, now);
    }
    return { kind: 'skipped', reason: 'status changed meanwhile', fileId: ids.fileId };
  }
  // The owner sees the file move to PROCESSING while its bytes are read: the event goes out
  // beside the work, not before it, and is awaited before the run ends. A re-run of a file
  // whose end the owner was told (a late copy of its event, a redrive) is not announced: if it
  // ends as before, nothing new is told (finish), and a start with no end would strand screens.
  const rerun =
    started.publishedStatus !== null && started.reprocessId === null && !run.reprocessId;
  const announced = rerun
    ? Promise.resolve()
    : deps.events.publish('file.processing', started).then(
        () => undefined,
        (error: unknown) => deps.onAnnounceFailed?.(error),
      );
  try {
    return await runClaimed(deps, { existing, started, ref, version, ids, run });
  } finally {
    await announced;
  }
};

interface Claimed {
  readonly existing: FileRecord;
  readonly started: FileRecord;
  readonly ref: ObjectRef;
  readonly version: string;
  readonly ids: { ownerId: string; fileId: string };
  readonly run: RunContext;
}

/** The work on a file this run claimed: its kind's pipeline, derivatives, end state, event. */
const runClaimed = async (
  deps: ProcessDeps,
  { existing, started, ref, version, ids, run }: Claimed,
): Promise<ProcessOutcome> => {
  await deps.beforeRun?.(started, run);

  const result = await deps.pipeline({
    file: started,
    bucket: ref.bucket,
    ...(ref.versionId && { versionId: ref.versionId }),
    ...(run.reprocessId && { reprocessId: run.reprocessId }),
    open: () => deps.store.open(ref.bucket, existing.key, ref.versionId),
  });
  if (result.status === 'PROCESSING') {
    return {
      kind: 'handed-off',
      fileId: ids.fileId,
      to: result.handedOffTo,
      started: result.started,
    };
  }

  const derivatives: Derivative[] = [];
  if (result.status === 'PROCESSED') {
    try {
      for (const made of result.derivatives) {
        derivatives.push(await writeDerivative(deps, ref, ids, made));
      }
    } finally {
      await result.cleanup?.();
    }
  }
  const finished = await deps.repository.finish(
    ids.fileId,
    {
      status: result.status,
      objectVersion: version,
      size: result.size,
      contentType: result.contentType,
      sha256: result.sha256,
      metadata: result.status === 'PROCESSED' ? result.metadata : {},
      derivatives,
      reason: result.status === 'PROCESSED' ? null : result.reason,
    },
    { reprocess: run.reprocessId !== undefined },
  );
  if (!finished) {
    // Deleted while this run worked: the delete removed what was there then, not what this run
    // wrote since, and nobody may keep copies of a deleted file.
    const now = await deps.repository.get(ids.fileId);
    if (now?.status === 'DELETED') {
      await removeDerivatives(deps, ref.bucket, ids);
      if (result.status === 'PROCESSED') {
        const written = analyticsObjects(result.metadata);
        if (written.length > 0) await deps.store.deleteEverything(ref.bucket, written);
      }
      return { kind: 'skipped', reason: 'the file was deleted', fileId: ids.fileId };
    }
    return { kind: 'skipped', reason: 'status changed meanwhile', fileId: ids.fileId };
  }
  // A run again (a reprocess) may leave rows of the last run in a table: a log whose dates
  // moved, a file now REJECTED. Only what this run wrote stays queryable.
  const kept = new Set(analyticsObjects(finished.metadata));
  const stale = analyticsObjects(started.metadata).filter((key) => !kept.has(key));
  if (stale.length > 0) await deps.store.deleteEverything(ref.bucket, stale);
  const published = await publishOnce(deps, finished);
  return {
    kind: 'done',
    file: finished,
    published,
    ...(result.status !== 'PROCESSED' && result.cause !== undefined && { cause: result.cause }),
  };
};

/**
 * Records a file as FAILED after its last retry, so the status tells the user what the DLQ tells
 * the operator; the error itself stays in the log. Does nothing when the file is already in an
 * end state, or holds another version.
 */
export const failAfterRetries = async (
  deps: ProcessDeps,
  eventRef: ObjectRef & { readonly reprocessId?: string },
  attempts: number,
): Promise<FileRecord | undefined> => {
  const ids = parseUploadKey(eventRef.key);
  if (!ids) return undefined;
  const existing = await deps.repository.get(ids.fileId);
  if (!existing || existing.ownerId !== ids.ownerId) return undefined;
  const ref = await withVersionId(deps, eventRef, existing.key);
  if (!ref) return undefined;
  const failed = await deps.repository.finish(
    ids.fileId,
    {
      status: 'FAILED',
      objectVersion: objectVersionOf(ref),
      size: existing.size,
      contentType: existing.contentType,
      sha256: existing.sha256,
      metadata: existing.metadata,
      derivatives: existing.derivatives,
      reason: STUCK_REASONS.retriesSpent(attempts),
    },
    { reprocess: eventRef.reprocessId !== undefined },
  );
  if (failed) await publishOnce(deps, failed);
  return failed;
};
