import type { FileRepository, ProcessingOutcome } from '../../adapters/file-repository.ts';
import type { Derivative, FileRecord } from '../../domain/file-record.ts';
import { derivedPrefix } from '../../domain/keys.ts';
import { WEB_RENDITION } from '../../domain/video.ts';
import {
  renditionKey,
  type VideoExecutionState,
  type VideoJob,
} from '../../domain/video-workflow.ts';

export interface RecordDeps {
  readonly repository: Pick<FileRepository, 'finish' | 'get' | 'clearProgress'>;
  readonly stat: (
    bucket: string,
    key: string,
  ) => Promise<{ readonly size: number; readonly versionId?: string } | undefined>;
  readonly deleteEverything: (bucket: string, prefixes: readonly string[]) => Promise<number>;
}

/** What a record step did: the file's status now, or why nothing was written. */
export type RecordResult =
  | { readonly recorded: true; readonly status: FileRecord['status'] }
  | { readonly recorded: false; readonly reason: string };

/**
 * Writes an end state for the version the job names, by the repository's rules: only the version
 * the file holds, never over a deleted file. A file deleted while the workflow ran loses what
 * the workflow wrote under `derived/` (nobody may keep copies of a deleted file).
 */
export const writeEnd = async (
  deps: RecordDeps,
  job: VideoJob,
  outcome: Omit<ProcessingOutcome, 'objectVersion' | 'size' | 'contentType' | 'sha256'>,
): Promise<RecordResult> => {
  const finished = await deps.repository.finish(job.fileId, {
    ...outcome,
    objectVersion: job.objectVersion,
    size: job.size,
    contentType: job.contentType,
    sha256: job.sha256,
  });
  if (finished) {
    await deps.repository.clearProgress(job.fileId);
    return { recorded: true, status: finished.status };
  }
  const now = await deps.repository.get(job.fileId);
  if (now?.status === 'DELETED') {
    await deps.deleteEverything(job.bucket, [derivedPrefix(job.ownerId, job.fileId)]);
    return { recorded: false, reason: 'the file was deleted' };
  }
  return { recorded: false, reason: `the file is ${now?.status ?? 'gone'}; nothing to write` };
};

/**
 * The workflow's record step: the probe's verdict for a rejected, damaged or audio file, or a
 * video's metadata, poster and rendition once they are written.
 */
export const recordVideo = async (
  deps: RecordDeps,
  state: VideoExecutionState,
): Promise<RecordResult> => {
  const { job, probe } = state;
  if (!probe) throw new Error('The record step ran before the probe');
  if ('reason' in probe) {
    return writeEnd(deps, job, {
      status: probe.outcome,
      metadata: {},
      derivatives: [],
      reason: probe.reason,
    });
  }
  const media = probe.notes.length > 0 ? { ...probe.media, notes: probe.notes } : probe.media;
  if (probe.outcome === 'AUDIO') {
    return writeEnd(deps, job, {
      status: 'PROCESSED',
      metadata: { media },
      derivatives: [],
      reason: null,
    });
  }
  const key = renditionKey(job.ownerId, job.fileId);
  const rendition = await deps.stat(job.bucket, key);
  if (!rendition) throw new Error(`The transcoder wrote no rendition at ${key}`);
  const derivatives: Derivative[] = [
    ...(state.poster?.derivatives ?? []),
    {
      name: WEB_RENDITION.name,
      key,
      contentType: WEB_RENDITION.contentType,
      width: probe.plan.width,
      height: probe.plan.height,
      size: rendition.size,
      ...(rendition.versionId && { versionId: rendition.versionId }),
      ...(job.versionId && { sourceVersionId: job.versionId }),
    },
  ];
  return writeEnd(deps, job, {
    status: 'PROCESSED',
    metadata: { media },
    derivatives,
    reason: null,
  });
};
