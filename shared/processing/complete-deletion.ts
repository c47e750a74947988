import type { FileEventPublisher } from '../adapters/event-publisher.ts';
import type { FileRepository } from '../adapters/file-repository.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import { analyticsObjects } from '../domain/analytics-summary.ts';
import type { FileRecord } from '../domain/file-record.ts';
import { derivedPrefix } from '../domain/keys.ts';

export interface DeletionDeps {
  readonly repository: FileRepository;
  readonly store: ObjectStore;
  readonly events: FileEventPublisher;
}

/**
 * Finishes the deletion of a file already marked DELETED: removes every version of its original,
 * its derivatives and its rows under `analytics/`, publishes `file.deleted` unless it is out already, then keeps only what
 * operations need of its record. Safe to run again after any step failed (the DELETE route on a
 * retry, the sweeper for a request that gave up). Returns how many object versions went.
 */
export const completeDeletion = async (deps: DeletionDeps, file: FileRecord): Promise<number> => {
  const removed = await deps.store.deleteEverything(file.bucket, [
    file.key,
    derivedPrefix(file.ownerId, file.fileId),
    // A table's rows of this file: queries of its dataset stop showing them.
    ...analyticsObjects(file.metadata),
  ]);
  await announceDeletion(deps, file.fileId);
  return removed;
};

/**
 * Publishes `file.deleted` for a file marked DELETED, unless it went out already, then keeps only
 * ids, status and timestamps of its record. For a file that never had an object (an aborted
 * multipart upload) this is the whole of its deletion.
 */
export const announceDeletion = async (
  deps: Pick<DeletionDeps, 'repository' | 'events'>,
  fileId: string,
): Promise<void> => {
  const current = await deps.repository.get(fileId);
  if (current?.status === 'DELETED' && current.publishedStatus === null) {
    await deps.events.publish('file.deleted', current);
    await deps.repository.finishDeletion(fileId);
  }
};
