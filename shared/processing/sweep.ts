import { detailTypeFor, type FileEventPublisher } from '../adapters/event-publisher.ts';
import type { FileRepository } from '../adapters/file-repository.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import type { FileRecord } from '../domain/file-record.ts';
import { type PipelineTiming, STUCK_REASONS, stuckReason } from '../domain/lifecycle.ts';
import { REQUEST_WINDOW_SECONDS } from '../domain/request-limits.ts';
import { completeDeletion } from './complete-deletion.ts';

export interface SweepDeps {
  readonly repository: FileRepository;
  readonly store: ObjectStore;
  readonly events: FileEventPublisher;
  /** Where a file that could not be swept is reported; the sweep goes on with the others. */
  readonly onError?: (file: FileRecord, error: unknown) => void;
  /**
   * Milliseconds the invocation has left (shared/adapters/db/deadline.ts), or undefined when
   * nothing bounds the sweep (a script). Expired uploads are taken page after page while a page
   * comes back full and this leaves room for another.
   */
  readonly timeLeft?: () => number | undefined;
}

/**
 * Time kept for what follows the last page of expired uploads (pruning, the answer, the
 * logs), beyond twice the last page's own time: another page starts only with both left.
 */
export const SWEEP_RESERVE_MS = 15_000;

/** What one sweep did. */
export interface SweepResult {
  /** Stuck in PROCESSING or UPLOADED, ended FAILED with a reason. */
  readonly failed: number;
  /** Upload URL expired with nothing uploaded: EXPIRED. */
  readonly expired: number;
  /** Pages of expired uploads read: more than one when abandoned uploads pile up. */
  readonly expiredPages: number;
  /** Upload URL expired, but the object is there: UPLOADED, the pipeline has its event. */
  readonly arrived: number;
  /** Deletions a request left unfinished, finished. */
  readonly deletionsFinished: number;
  /** End states whose event no delivery managed to publish, published now (same outcomeId). */
  readonly outcomesPublished: number;
  readonly requestCountsPruned: number;
  /** Files that could not be swept this time (the next sweep tries again). */
  readonly errors: number;
}

/**
 * Ends every file that stopped moving, so each reaches a state a person can read: a run cut
 * short by its timeout or by running out of memory on its last delivery, or abandoned, is
 * FAILED (and published as such); an upload URL that expired unused is EXPIRED; a deletion a
 * request left half done is finished. Each file is ended only if it has not moved since it was
 * read, so a run that finishes meanwhile wins. At most `batch` files of each kind per sweep,
 * but for expired uploads: page after page of them while time is left (`timeLeft`).
 */
export const sweep = async (
  deps: SweepDeps,
  timing: PipelineTiming,
  now: Date,
  batch = 200,
): Promise<SweepResult> => {
  const found = await deps.repository.unfinished(timing, now, batch);
  let failed = 0;
  let expired = 0;
  let arrived = 0;
  let deletionsFinished = 0;
  let errors = 0;
  const each = async (files: FileRecord[], work: (file: FileRecord) => Promise<void>) => {
    for (const file of files) {
      try {
        await work(file);
      } catch (error) {
        errors++;
        deps.onError?.(file, error);
      }
    }
  };
  await each(found.stuck, async (file) => {
    const reason = stuckReason(file, timing, now);
    if (!reason) return;
    const ended = await deps.repository.endUnfinished(file, 'FAILED', reason, now);
    if (!ended) return;
    failed++;
    // A plain re-run of a file whose FAILED the owner was told (a late copy of its event, a
    // redrive) that stopped again: nothing new to tell (endUnfinished kept it told).
    if (ended.publishedStatus === 'FAILED') return;
    await deps.events.publish('file.failed', ended);
    await deps.repository.markPublished(ended.fileId, 'FAILED');
  });
  const endExpired = async (file: FileRecord) => {
    if (await deps.store.head(file.bucket, file.key)) {
      if (await deps.repository.endUnfinished(file, 'UPLOADED', null, now)) arrived++;
      return;
    }
    const reason = STUCK_REASONS.expired(file.uploadExpiresAt ?? file.createdAt);
    if (await deps.repository.endUnfinished(file, 'EXPIRED', reason, now)) expired++;
  };
  /** Ends one page of expired uploads; returns how long it took. */
  const endExpiredPage = async (page: FileRecord[]): Promise<number> => {
    const started = Date.now();
    await each(page, endExpired);
    return Date.now() - started;
  };
  let expiredPage = found.expiredUploads;
  let expiredPages = 1;
  let lastPageMs = await endExpiredPage(expiredPage);
  await each(found.unfinishedDeletions, async (file) => {
    await completeDeletion(deps, file);
    deletionsFinished++;
  });
  let outcomesPublished = 0;
  await each(found.unpublished, async (file) => {
    if (file.status !== 'PROCESSED' && file.status !== 'FAILED' && file.status !== 'REJECTED') {
      return;
    }
    await deps.events.publish(detailTypeFor(file.status), file);
    if (await deps.repository.markPublished(file.fileId, file.status)) outcomesPublished++;
  });
  // Abandoned uploads can pile up faster than one page a sweep (a client asking for URLs it
  // never uses): further pages, once everything else had its turn, while there is time, so
  // EXPIRED keeps its promise of one sweep after the grace.
  while (expiredPage.length >= batch) {
    const left = deps.timeLeft?.();
    if (left !== undefined && left < 2 * lastPageMs + SWEEP_RESERVE_MS) break;
    const last = expiredPage[expiredPage.length - 1] as FileRecord;
    expiredPage = await deps.repository.expiredUploads(timing, now, batch, last);
    expiredPages++;
    lastPageMs = await endExpiredPage(expiredPage);
  }
  const requestCountsPruned = await deps.repository.pruneRequestCounts(
    new Date(now.getTime() - 2 * REQUEST_WINDOW_SECONDS * 1000),
  );
  return {
    failed,
    expired,
    expiredPages,
    arrived,
    deletionsFinished,
    outcomesPublished,
    requestCountsPruned,
    errors,
  };
};
