import type { FileEventPublisher } from '../adapters/event-publisher.ts';
import type { FileRepository } from '../adapters/file-repository.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import type { FileRecord } from '../domain/file-record.ts';
import { derivedPrefix } from '../domain/keys.ts';

export interface DeletionDeps {
  readonly repository: FileRepository;
  readonly store: ObjectStore;
  readonly events: FileEventPublisher;
}

/**
 * Finishes the deletion of a file already marked DELETED: removes every version of its original
 * and its derivatives, publishes `file.deleted` unless it is out already, then keeps only what
 * operations need of its record. Safe to run again after any step failed (the DELETE route on a
 * retry, the sweeper for a request that gave up). Returns how many object versions went.
 */
export const completeDeletion = async (deps: DeletionDeps, file: FileRecord): Promise<number> => {
  const removed = await deps.store.deleteEverything(file.bucket, [
    file.key,
    derivedPrefix(file.ownerId, file.fileId),
  ]);
  const current = await deps.repository.get(file.fileId);
  if (current?.status === 'DELETED' && current.publishedStatus === null) {
    await deps.events.publish('file.deleted', current);
    await deps.repository.finishDeletion(file.fileId);
  }
  return removed;
};
