import { detailTypeFor, type FileEventPublisher } from '../../adapters/event-publisher.ts';
import type { FileRepository } from '../../adapters/file-repository.ts';
import type { FileRecord } from '../../domain/file-record.ts';

export interface PublishDeps {
  readonly repository: Pick<FileRepository, 'get' | 'markPublished'>;
  readonly events: Pick<FileEventPublisher, 'publish'>;
}

/**
 * The workflow's last step: publishes the `file.*` event of the file's end state once, by the
 * same rule as the processor (issue 11): a retry, or a replayed execution, that finds the event
 * already out publishes nothing. Returns whether this call published.
 */
export const publishVideoOutcome = async (
  deps: PublishDeps,
  fileId: string,
): Promise<{ readonly published: boolean; readonly status?: string }> => {
  const file: FileRecord | undefined = await deps.repository.get(fileId);
  if (!file) return { published: false };
  const { status } = file;
  if (status !== 'PROCESSED' && status !== 'FAILED' && status !== 'REJECTED') {
    return { published: false, status };
  }
  if (file.publishedStatus === status) return { published: false, status };
  await deps.events.publish(detailTypeFor(status), file);
  await deps.repository.markPublished(file.fileId, status);
  return { published: true, status };
};
