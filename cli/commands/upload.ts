import { openAsBlob } from 'node:fs';
import {
  ApiError,
  type FileStatus,
  isAbort,
  type SyncFlowClient,
  type UploadResult,
} from '../../client/src/index.ts';
import { type Command, type Context, positiveInt } from '../lib/command.ts';
import { EndStateFollower } from '../lib/end-states.ts';
import { describeError, EXIT, isAuthError, usageError } from '../lib/errors.ts';
import { contentTypeOf, expandPaths, type LocalFile, sha256Of } from '../lib/files.ts';
import { type FileJournal, fileFingerprint } from '../lib/journal.ts';
import { formatBytes, type Output } from '../lib/output.ts';
import { type ProgressView, silentProgress, terminalProgress } from '../lib/progress.ts';
import { type BatchedFile, UploadBatches } from '../lib/upload-batches.ts';

export interface UploadFlags {
  readonly concurrency: number;
  readonly parts: number;
  readonly wait: boolean;
  readonly waitTimeout: number;
  readonly contentType?: string;
  readonly checksum: boolean;
  readonly force: boolean;
}

/** What became of one local file: the line `--json` prints for it. */
export interface FileOutcome {
  readonly path: string;
  readonly filename: string;
  readonly size: number;
  readonly fileId?: string;
  /** The file's status when the CLI last knew it: UPLOADED once sent, its end state with --wait. */
  readonly status?: FileStatus;
  readonly reason?: string;
  readonly method?: 'POST' | 'MULTIPART';
  /** Sent by an earlier run (the journal says so): not sent again. */
  readonly skipped: boolean;
  /** Carried on from an earlier, interrupted run (parts S3 already had were not sent again). */
  readonly resumed: boolean;
  /** False when S3 gave back no checksum to compare with the one sent (multipart only). */
  readonly checksumVerified?: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

const ok = (outcome: FileOutcome, waited: boolean): boolean => {
  if (outcome.error !== undefined) return false;
  if (waited) return outcome.status === 'PROCESSED';
  return outcome.status === undefined ? outcome.skipped : outcome.status !== 'REJECTED';
};

const STATUS_STYLE: Partial<Record<FileStatus, 'green' | 'red' | 'yellow'>> = {
  PROCESSED: 'green',
  UPLOADED: 'green',
  FAILED: 'red',
  REJECTED: 'red',
  EXPIRED: 'red',
  DELETED: 'yellow',
};

const printOutcome = (out: Output, outcome: FileOutcome): void => {
  if (out.json) {
    if (outcome.error) {
      out.error(outcome.error, {
        path: outcome.path,
        ...(outcome.fileId && { fileId: outcome.fileId }),
      });
    } else {
      out.result(outcome);
    }
    return;
  }
  const status = outcome.error ? 'ERROR' : (outcome.status ?? 'SKIPPED');
  const style = outcome.error ? 'red' : (STATUS_STYLE[outcome.status as FileStatus] ?? 'yellow');
  const note = outcome.error
    ? outcome.error.message
    : [
        outcome.reason,
        outcome.skipped ? 'sent before, not sent again' : undefined,
        outcome.resumed && !outcome.skipped ? 'resumed' : undefined,
        outcome.checksumVerified === false ? 'S3 did not confirm its checksum' : undefined,
      ]
        .filter(Boolean)
        .join('; ');
  out.data(
    [out.paint(status.padEnd(9), style), outcome.fileId ?? '-'.padEnd(36), outcome.path, note]
      .filter((part) => part !== '')
      .join('  '),
  );
};

/** The status `POST /uploads` answers a file's refusal with, as a batch item carries its code. */
const REFUSAL_STATUS: Partial<Record<string, number>> = {
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

/** A file for a worker: alone (asked for as it is sent), or with its batch's answer. */
type Job = { readonly file: LocalFile } | BatchedFile;

/** How far apart this machine's clock and the API's may be, for matching a lost request. */
const CLOCK_SLACK_MS = 10_000;

/**
 * Gives up the records a killed run's POST /uploads made but never heard back about: the
 * caller's files of this name and size still waiting for their bytes, made between the request
 * and two minutes after it. Deleted, they can never be processed (nor listed) beside the new one.
 */
const giveUpLostRequests = async (
  client: SyncFlowClient,
  record: { filename: string; size: number; at: string },
  signal: AbortSignal,
): Promise<number> => {
  const from = Date.parse(record.at) - CLOCK_SLACK_MS;
  const page = await client.api.listFiles(
    {
      q: record.filename,
      status: 'PENDING_UPLOAD',
      createdFrom: new Date(from).toISOString(),
      createdTo: new Date(from + 2 * CLOCK_SLACK_MS + 120_000).toISOString(),
      sort: 'createdAt',
      limit: 100,
    },
    signal,
  );
  const lost = page.items.filter((f) => f.filename === record.filename && f.size === record.size);
  for (const file of lost) await client.api.deleteFile(file.fileId);
  return lost.length;
};

/** Sends one file whose upload a batch request recorded (upload-batches.ts journaled its id). */
const sendBatched = async (
  client: SyncFlowClient,
  journal: FileJournal,
  batched: Extract<BatchedFile, { created: unknown }>,
  flags: UploadFlags,
  progress: ProgressView,
  signal: AbortSignal,
): Promise<FileOutcome> => {
  const { file, created } = batched;
  const fp = fileFingerprint(client.config.restUrl, file);
  const blob = await openAsBlob(file.path, { type: batched.contentType });
  progress.started(fp, file.shown, file.size);
  const result = await client.uploader.upload(blob, {
    filename: file.name,
    contentType: batched.contentType,
    ...(batched.checksumSha256 && { checksumSha256: batched.checksumSha256 }),
    created,
    resumeKey: fp,
    concurrency: flags.parts,
    signal,
    onProgress: ({ loaded }) => progress.progress(fp, loaded),
  });
  return recordSent(journal, fp, file, result, false);
};

/** Notes a file's bytes as arrived in the journal (never sent again) and says what became of it. */
const recordSent = (
  journal: FileJournal,
  fp: string,
  file: LocalFile,
  result: UploadResult,
  resumed: boolean,
): FileOutcome => {
  journal.set(fp, {
    fileId: result.fileId,
    method: result.method,
    state: 'sent',
    path: file.path,
    at: new Date().toISOString(),
  });
  return {
    path: file.shown,
    filename: file.name,
    size: file.size,
    fileId: result.fileId,
    method: result.method,
    status: result.status === 'REJECTED' ? 'REJECTED' : 'UPLOADED',
    ...(result.reason && { reason: result.reason }),
    skipped: false,
    resumed: resumed || result.resumed,
    ...(result.checksumVerified !== undefined && { checksumVerified: result.checksumVerified }),
  };
};

/** Uploads one file, or finds that an earlier run did; never two records of one file. */
const uploadOne = async (
  client: SyncFlowClient,
  journal: FileJournal,
  file: LocalFile,
  flags: UploadFlags,
  progress: ProgressView,
  signal: AbortSignal,
): Promise<FileOutcome> => {
  const base = { path: file.shown, filename: file.name, size: file.size };
  const fp = fileFingerprint(client.config.restUrl, file);
  const record = flags.force ? undefined : journal.get(fp);
  if (record?.state === 'sent') {
    return { ...base, fileId: record.fileId, method: record.method, skipped: true, resumed: false };
  }
  let resumed = false;
  if (record?.state === 'requested') {
    // Killed while POST /uploads was on its way: the API may hold a record nobody knows.
    await giveUpLostRequests(client, record, signal);
    resumed = true;
  } else if (record && !(record.method === 'MULTIPART' && journal.parts.get(fp))) {
    // An earlier run recorded the file but was stopped: did its bytes arrive?
    const status = await client.api.getFile(record.fileId, signal).then(
      (found) => found.status,
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      },
    );
    if (status !== undefined && status !== 'PENDING_UPLOAD') {
      journal.set(fp, { ...record, state: 'sent', at: new Date().toISOString() });
      return {
        ...base,
        fileId: record.fileId,
        method: record.method,
        status,
        skipped: true,
        resumed: true,
      };
    }
    // Still waiting for bytes that may be on their way: that record is given up (deleted, so
    // a late arrival is removed, never processed) and the file is sent anew.
    if (status !== undefined) await client.api.deleteFile(record.fileId);
    journal.delete(fp);
    resumed = true;
  } else if (record) resumed = true;

  const contentType = flags.contentType ?? contentTypeOf(file.name);
  const checksumSha256 = flags.checksum ? await sha256Of(file.path, signal) : undefined;
  const blob = await openAsBlob(file.path, { type: contentType });
  progress.started(fp, file.shown, file.size);
  if (!journal.parts.get(fp)) {
    // Written before the request leaves: a kill before its answer is found again next run.
    journal.set(fp, {
      state: 'requested',
      path: file.path,
      filename: file.name,
      size: file.size,
      at: new Date().toISOString(),
    });
  }
  const result = await client.uploader.upload(blob, {
    filename: file.name,
    contentType,
    ...(checksumSha256 && { checksumSha256 }),
    resumeKey: fp,
    concurrency: flags.parts,
    signal,
    onStarted: ({ fileId, method }) => {
      // Before the first byte leaves: a run killed from here on finds the file again.
      journal.set(fp, {
        fileId,
        method,
        state: 'started',
        path: file.path,
        at: new Date().toISOString(),
      });
    },
    onProgress: ({ loaded }) => progress.progress(fp, loaded),
  });
  return recordSent(journal, fp, file, result, resumed);
};

export const upload: Command<UploadFlags> = {
  name: 'upload',
  args: '<paths...>',
  summary: 'Upload files, folders (recursively) and glob patterns',
  description:
    'Sends each file the way the API asks (a presigned POST, or parts in parallel above the ' +
    "stage's multipart threshold, each part's CRC64NVME checked by S3), with the file's SHA-256 " +
    'for the processor to check. A journal in the config directory remembers every file by path, ' +
    'size, modification time and API: a run that was stopped carries on where it was when run ' +
    'again, and a file already sent is not sent twice (--force sends it anyway). Exits 1 when any ' +
    'file could not be sent or, with --wait, did not end PROCESSED.',
  examples: [
    'syncflow upload photos/ --wait',
    "syncflow upload 'logs/**/*.csv' --concurrency 16 --json > results.jsonl",
    'syncflow upload big.tiff --parts 8',
  ],
  flags: [
    {
      flags: '-c, --concurrency <n>',
      description: 'files sent at once',
      default: 8,
      parse: positiveInt('--concurrency', 64),
    },
    {
      flags: '--parts <n>',
      description: 'parts of one large file sent at once',
      default: 4,
      parse: positiveInt('--parts', 32),
    },
    {
      flags: '-w, --wait',
      description: 'follow each file to its end state (live events)',
      default: false,
    },
    {
      flags: '--wait-timeout <seconds>',
      description: 'give up waiting for a file after this long',
      default: 600,
      parse: positiveInt('--wait-timeout', 86_400),
    },
    {
      flags: '--content-type <type>',
      description: 'declare every file as this type (default: from its extension)',
    },
    {
      flags: '--no-checksum',
      description: "don't send each file's SHA-256 (saves one read of it)",
    },
    {
      flags: '--force',
      description: 'send files the journal says were sent already',
      default: false,
    },
  ],
  async run(ctx: Context, paths: string[], flags: UploadFlags) {
    const files = await expandPaths(paths);
    if (files.length === 0) throw usageError('Nothing to upload: the paths name no file');
    const client = await ctx.client();
    const journal = ctx.journal();
    const { out } = ctx;
    // One Ctrl-C stops everything; an auth failure too (every other file would fail alike).
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    let authFailure: unknown;

    let follower: EndStateFollower | undefined;
    if (flags.wait) {
      follower = new EndStateFollower(client, (state) => {
        if (state === 'reconnecting') out.note('Live events: connection lost, reconnecting');
      });
      if (!(await follower.start())) {
        out.warn(
          follower.refused
            ? `Live events: ${follower.refused.message} (syncflow login); reading statuses instead`
            : 'Live events: no connection yet; reading statuses until one opens',
        );
      }
    }
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    const progress = out.interactive
      ? terminalProgress(out, { files: files.length, bytes: totalBytes })
      : silentProgress();
    const started = Date.now();
    const outcomes: FileOutcome[] = [];
    let interrupted = false;

    const handle = async (job: Job): Promise<void> => {
      let outcome: FileOutcome;
      const { file } = job;
      const fp = fileFingerprint(client.config.restUrl, file);
      try {
        if ('failure' in job) throw job.failure;
        if ('refused' in job) {
          throw new ApiError({ status: REFUSAL_STATUS[job.refused.code] ?? 400, ...job.refused });
        }
        outcome =
          'created' in job
            ? await sendBatched(client, journal, job, flags, progress, signal)
            : await uploadOne(client, journal, file, flags, progress, signal);
      } catch (error) {
        progress.finished(fp, file.size);
        if (isAbort(error) || signal.aborted) {
          interrupted = true;
          return;
        }
        if (isAuthError(error)) {
          authFailure ??= error;
          stop.abort();
          return;
        }
        const { code, message } = describeError(error);
        outcome = {
          path: file.shown,
          filename: file.name,
          size: file.size,
          skipped: false,
          resumed: false,
          error: { code, message },
        };
        outcomes.push(outcome);
        printOutcome(out, outcome);
        return;
      }
      progress.finished(fp, file.size);
      if (follower && outcome.fileId && outcome.status !== 'REJECTED') {
        try {
          const end = await follower.wait(outcome.fileId, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(flags.waitTimeout * 1000)]),
            readNow: outcome.skipped || outcome.resumed || !follower.connected,
          });
          outcome = {
            ...outcome,
            status: end.status,
            ...(end.reason !== undefined && { reason: end.reason }),
          };
        } catch {
          if (ctx.signal.aborted) {
            interrupted = true;
            return;
          }
          outcome = {
            ...outcome,
            error: {
              code: 'TIMEOUT',
              message: `no end state within ${flags.waitTimeout} s (still ${outcome.status ?? 'processing'})`,
            },
          };
        }
      }
      outcomes.push(outcome);
      printOutcome(out, outcome);
    };

    // Small files the journal does not know are asked for in batches (one request for up to
    // 100), ahead of the workers; the others one at a time, as before.
    const alone: Job[] = [];
    const batchable: LocalFile[] = [];
    for (const file of files) {
      const known =
        !flags.force && journal.get(fileFingerprint(client.config.restUrl, file)) !== undefined;
      if (UploadBatches.fits(file, known)) batchable.push(file);
      else alone.push({ file });
    }
    const batches = new UploadBatches(client, journal, batchable, {
      ...(flags.contentType && { contentType: flags.contentType }),
      checksum: flags.checksum,
      lowWater: 2 * flags.concurrency,
      signal,
    });
    const next = async (): Promise<Job | undefined> => alone.shift() ?? (await batches.next());
    await Promise.all(
      Array.from({ length: Math.min(flags.concurrency, files.length) }, async () => {
        for (let job = await next(); job && !signal.aborted; job = await next()) {
          await handle(job);
        }
      }),
    );
    progress.stop();
    follower?.close();

    const count = (test: (o: FileOutcome) => boolean) => outcomes.filter(test).length;
    const seconds = (Date.now() - started) / 1000;
    const sentBytes = outcomes
      .filter((o) => !o.skipped && !o.error)
      .reduce((sum, o) => sum + o.size, 0);
    const byStatus = new Map<string, number>();
    for (const o of outcomes) {
      const key = o.error ? 'not sent' : o.skipped ? 'sent before' : (o.status ?? 'unknown');
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    const parts = [...byStatus].map(([status, n]) => `${n} ${status.toLowerCase()}`);
    if (interrupted || ctx.signal.aborted) parts.push(`${files.length - outcomes.length} not done`);
    const asked =
      batches.requests > 0
        ? `; ${batchable.length} asked for in ${batches.requests} batch request${batches.requests === 1 ? '' : 's'}`
        : '';
    out.note(
      `${files.length} file${files.length === 1 ? '' : 's'}: ${parts.join(', ')}; ${formatBytes(sentBytes)} in ${seconds.toFixed(1)} s (${formatBytes(Math.round(sentBytes / Math.max(seconds, 0.001)))}/s)${asked}`,
    );
    if (authFailure) throw authFailure;
    if (interrupted || ctx.signal.aborted) {
      out.warn('Interrupted: run the same command again to carry on where it stopped');
      return { exitCode: EXIT.interrupted };
    }
    const failed = count((o) => !ok(o, flags.wait));
    return { exitCode: failed > 0 ? EXIT.failed : EXIT.ok };
  },
};
