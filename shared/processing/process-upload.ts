import type { FileEventPublisher } from '../adapters/event-publisher.ts';
import { detailTypeFor } from '../adapters/event-publisher.ts';
import type { FileRepository } from '../adapters/file-repository.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import type { Derivative, EndStatus, FileRecord, FileStatus } from '../domain/file-record.ts';
import { END_STATUSES } from '../domain/file-record.ts';
import { derivedKey, derivedPrefix, parseUploadKey } from '../domain/keys.ts';
import { type ObjectRef, objectVersionOf } from '../domain/object-ref.ts';
import { DEFAULT_PIPELINE_LIMITS, type PipelineLimits, runPipeline } from './pipeline.ts';

export interface ProcessDeps {
  readonly repository: FileRepository;
  readonly store: ObjectStore;
  readonly events: FileEventPublisher;
  readonly limits?: PipelineLimits;
}

export type ProcessOutcome =
  | { readonly kind: 'done'; readonly file: FileRecord }
  | { readonly kind: 'skipped'; readonly reason: string; readonly fileId?: string };

const isEndStatus = (status: FileStatus): status is EndStatus =>
  (END_STATUSES as readonly string[]).includes(status);

/** Removes every version of whatever is under a file's `derived/` prefix. */
const removeDerivatives = async (
  deps: ProcessDeps,
  bucket: string,
  ids: { ownerId: string; fileId: string },
): Promise<void> => {
  await deps.store.deleteEverything(bucket, [derivedPrefix(ids.ownerId, ids.fileId)]);
};

/**
 * Processes one uploaded object: PROCESSING, read and analyse it once, store derivatives under
 * `derived/`, write the end state, publish it. Problems with the file end in FAILED or REJECTED and
 * return normally; anything thrown is transient and the message is retried.
 * A retry that finds this version already finished (the publish failed last time) only publishes.
 */
export const processUpload = async (deps: ProcessDeps, ref: ObjectRef): Promise<ProcessOutcome> => {
  const ids = parseUploadKey(ref.key);
  if (!ids) return { kind: 'skipped', reason: `not an upload key: ${ref.key}` };
  const version = objectVersionOf(ref);
  const existing = await deps.repository.get(ids.fileId);
  if (!existing || existing.ownerId !== ids.ownerId) {
    return { kind: 'skipped', reason: 'no upload was requested for this key', fileId: ids.fileId };
  }
  if (existing.status === 'DELETED') {
    // A run cut short after writing derivatives may have left some behind the delete.
    await removeDerivatives(deps, ref.bucket, ids);
    return { kind: 'skipped', reason: 'the file was deleted', fileId: ids.fileId };
  }
  if (isEndStatus(existing.status) && existing.status !== 'FAILED') {
    if (existing.objectVersion === version) {
      await deps.events.publish(detailTypeFor(existing.status), existing);
      return { kind: 'done', file: existing };
    }
    return { kind: 'skipped', reason: `already ${existing.status}`, fileId: ids.fileId };
  }

  const started = await deps.repository.startProcessing(ids.fileId, version);
  if (!started) return { kind: 'skipped', reason: 'status changed meanwhile', fileId: ids.fileId };

  const object = await deps.store.open(ref.bucket, existing.key, ref.versionId);
  const result = await runPipeline(
    object.body,
    {
      contentType: existing.declaredContentType,
      size: existing.declaredSize,
      checksumSha256: existing.checksumSha256,
    },
    deps.limits ?? DEFAULT_PIPELINE_LIMITS,
    object.contentLength,
  );

  const derivatives: Derivative[] = [];
  if (result.status === 'PROCESSED') {
    for (const image of result.derivatives) {
      const key = derivedKey(ids.ownerId, ids.fileId, image.name);
      await deps.store.put(ref.bucket, key, image.data, image.contentType);
      derivatives.push({
        name: image.name,
        key,
        contentType: image.contentType,
        width: image.width,
        height: image.height,
        size: image.data.length,
      });
    }
  }
  const finished = await deps.repository.finish(ids.fileId, {
    status: result.status,
    objectVersion: version,
    size: result.size,
    contentType: result.contentType,
    sha256: result.sha256,
    metadata: result.status === 'PROCESSED' ? result.metadata : {},
    derivatives,
    reason: result.status === 'PROCESSED' ? null : result.reason,
  });
  if (!finished) {
    // Deleted while this run worked: the delete removed what was there then, not what this run
    // wrote since, and nobody may keep copies of a deleted file.
    if ((await deps.repository.get(ids.fileId))?.status === 'DELETED') {
      await removeDerivatives(deps, ref.bucket, ids);
      return { kind: 'skipped', reason: 'the file was deleted', fileId: ids.fileId };
    }
    return { kind: 'skipped', reason: 'status changed meanwhile', fileId: ids.fileId };
  }
  await deps.events.publish(detailTypeFor(result.status), finished);
  return { kind: 'done', file: finished };
};

/**
 * Records a file as FAILED after its last retry, so the status tells the user what the DLQ tells
 * the operator. Does nothing when the file is already in an end state.
 */
export const failAfterRetries = async (
  deps: Pick<ProcessDeps, 'repository' | 'events'>,
  ref: ObjectRef,
  attempts: number,
  error: unknown,
): Promise<FileRecord | undefined> => {
  const ids = parseUploadKey(ref.key);
  if (!ids) return undefined;
  const existing = await deps.repository.get(ids.fileId);
  if (!existing || existing.ownerId !== ids.ownerId) return undefined;
  const detail = error instanceof Error ? error.message : String(error);
  const failed = await deps.repository.finish(ids.fileId, {
    status: 'FAILED',
    objectVersion: objectVersionOf(ref),
    size: existing.size,
    contentType: existing.contentType,
    sha256: existing.sha256,
    metadata: existing.metadata,
    derivatives: existing.derivatives,
    reason: `Processing failed ${attempts} times and was stopped; the last error was: ${detail}`,
  });
  if (failed) await deps.events.publish('file.failed', failed);
  return failed;
};
