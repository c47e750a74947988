import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import {
  FileRepository,
  MAX_REASON_LENGTH,
  type NewFile,
} from '#shared/adapters/file-repository.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { openTestDatabase, type TestDriver } from '../support/databases.ts';

const OWNER = 'owner-1';

const newFile = (overrides: Partial<NewFile> = {}): NewFile => {
  const fileId = overrides.fileId ?? randomUUID();
  const ownerId = overrides.ownerId ?? OWNER;
  return {
    fileId,
    ownerId,
    filename: 'photo.jpg',
    contentType: 'image/jpeg',
    size: 100,
    checksumSha256: null,
    bucket: 'bucket',
    key: uploadKey(ownerId, fileId, 'image'),
    uploadExpiresAt: new Date(Date.now() + 900_000),
    ...overrides,
  };
};

/** A run's claim of a file for one version. */
const claim = (objectVersion = 'v1', attempts = 1, deadline = new Date(Date.now() + 300_000)) => ({
  objectVersion,
  versionId: objectVersion,
  attempts,
  deadline,
});

/** The prod stage's clock (lifecycle.ts). */
const timing = {
  processorTimeoutSeconds: 300,
  visibilityTimeoutSeconds: 1800,
  maxReceiveCount: 3,
  queueRetentionSeconds: 4 * 86_400,
  graceSeconds: 300,
};

const processed = {
  status: 'PROCESSED' as const,
  objectVersion: 'v1',
  size: 100,
  contentType: 'image/jpeg',
  sha256: 'a'.repeat(64),
  metadata: { image: { format: 'jpeg', width: 10, height: 20, exif: { make: 'Zoë™' } } },
  derivatives: [
    {
      name: 'thumbnail.webp',
      key: 'derived/x/thumbnail.webp',
      contentType: 'image/webp',
      width: 5,
      height: 10,
      size: 42,
    },
  ],
  reason: null,
};

describe.each<TestDriver>(['pg', 'pglite', 'data-api'])('file repository on %s', (driver) => {
  let handle: DatabaseHandle;
  let repo: FileRepository;

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
    repo = new FileRepository(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it('applies migrations once however often it runs', async () => {
    expect(await migrate(handle.db)).toEqual([]);
  });

  it('makes a random cursor key of its own for every database, kept across migrations', async () => {
    const key = await repo.setting('cursor_key');
    expect(key).toMatch(/^([0-9a-f-]{36}){2}$/);
    await migrate(handle.db);
    expect(await repo.setting('cursor_key')).toBe(key);
    const other = await openTestDatabase(driver);
    try {
      expect(await new FileRepository(other.db).setting('cursor_key')).not.toBe(key);
    } finally {
      await other.close();
    }
    expect(await repo.setting('no-such-setting')).toBeUndefined();
  });

  it('creates a pending file idempotently and keeps unicode names intact', async () => {
    const file = newFile({ filename: 'Café 🌸 «rapport».jpg' });
    const created = await repo.createPending(file);
    expect(created).toMatchObject({ status: 'PENDING_UPLOAD', filename: file.filename, size: 100 });
    const again = await repo.createPending({ ...file, filename: 'other.jpg' });
    expect(again.filename).toBe(file.filename);
    expect(again.createdAt.getTime()).toBe(created.createdAt.getTime());
  });

  it('moves a file to PROCESSED once and stores metadata and derivatives as JSON', async () => {
    const file = newFile();
    await repo.createPending(file);
    expect(await repo.startProcessing(file.fileId, claim())).toMatchObject({
      status: 'PROCESSING',
    });
    const done = await repo.finish(file.fileId, processed);
    expect(done).toMatchObject({ status: 'PROCESSED', metadata: processed.metadata });
    expect(done?.derivatives).toEqual(processed.derivatives);
    expect(done?.processedAt).toBeInstanceOf(Date);
    // A replay changes nothing: neither the end state nor a move back to PROCESSING.
    expect(await repo.finish(file.fileId, processed)).toBeUndefined();
    expect(await repo.startProcessing(file.fileId, claim())).toBeUndefined();
    expect(
      await repo.finish(file.fileId, { ...processed, status: 'FAILED', reason: 'late' }),
    ).toBeUndefined();
    expect((await repo.get(file.fileId))?.status).toBe('PROCESSED');
  });

  it('keeps a reason short enough for a list page, whatever the error said', async () => {
    const file = newFile();
    await repo.createPending(file);
    const done = await repo.finish(file.fileId, {
      ...processed,
      status: 'FAILED',
      reason: `S3 said: ${'x'.repeat(10_000)}`,
    });
    expect(done?.reason).toHaveLength(MAX_REASON_LENGTH);
    expect(done?.reason).toMatch(/^S3 said: x+…$/);
  });

  it('lets a failed file be tried again', async () => {
    const file = newFile();
    await repo.createPending(file);
    await repo.finish(file.fileId, { ...processed, status: 'FAILED', reason: 'S3 timed out' });
    expect(await repo.startProcessing(file.fileId, claim())).toMatchObject({
      status: 'PROCESSING',
      reason: null,
    });
  });

  it('never revives a deleted file and ignores a second delete', async () => {
    const file = newFile();
    await repo.createPending(file);
    expect(await repo.markDeleted(OWNER, file.fileId)).toBe(true);
    expect(await repo.markDeleted(OWNER, file.fileId)).toBe(false);
    expect(await repo.startProcessing(file.fileId, claim())).toBeUndefined();
    expect(await repo.finish(file.fileId, processed)).toBeUndefined();
  });

  it("hides another owner's file", async () => {
    const file = newFile({ ownerId: 'owner-2' });
    await repo.createPending(file);
    expect(await repo.getForOwner(OWNER, file.fileId)).toBeUndefined();
    expect(await repo.getForOwner('owner-2', file.fileId)).toMatchObject({ fileId: file.fileId });
    expect(await repo.markDeleted(OWNER, file.fileId)).toBe(false);
  });

  it('pages through files by keyset without repeats or gaps', async () => {
    const owner = `pager-${driver}`;
    for (let i = 0; i < 7; i++) {
      await repo.createPending(
        newFile({ ownerId: owner, filename: `f${i}.txt`, size: 10 + (i % 3) }),
      );
    }
    for (const sort of [
      '-createdAt',
      'createdAt',
      'size',
      '-size',
      'filename',
      '-filename',
    ] as const) {
      const seen: string[] = [];
      let after: Awaited<ReturnType<FileRepository['list']>>['after'];
      do {
        const page = await repo.list({ ownerId: owner, sort, limit: 3, ...(after && { after }) });
        seen.push(...page.items.map((f) => f.fileId));
        after = page.after;
      } while (after);
      expect(new Set(seen).size, sort).toBe(7);
      expect(seen.length, sort).toBe(7);
    }
  });

  it('filters by type family and by a filename prefix with LIKE characters taken literally', async () => {
    const owner = `filter-${driver}`;
    await repo.createPending(
      newFile({ ownerId: owner, filename: '100%_done.png', contentType: 'image/png' }),
    );
    await repo.createPending(
      newFile({ ownerId: owner, filename: '100 things.txt', contentType: 'text/plain' }),
    );
    const images = await repo.list({
      ownerId: owner,
      contentType: 'image/*',
      sort: 'filename',
      limit: 10,
    });
    expect(images.items.map((f) => f.filename)).toEqual(['100%_done.png']);
    const prefix = await repo.list({
      ownerId: owner,
      filenamePrefix: '100%',
      sort: 'filename',
      limit: 10,
    });
    expect(prefix.items.map((f) => f.filename)).toEqual(['100%_done.png']);
    const quote = await repo.list({
      ownerId: owner,
      filenamePrefix: "'; DROP TABLE files; --",
      sort: 'filename',
      limit: 10,
    });
    expect(quote.items).toEqual([]);
  });

  it('neither repeats nor skips a file when new ones arrive between pages', async () => {
    const owner = `arrivals-${driver}`;
    const originals = new Set<string>();
    for (let i = 0; i < 10; i++) {
      originals.add((await repo.createPending(newFile({ ownerId: owner }))).fileId);
    }
    for (const sort of ['-createdAt', 'createdAt'] as const) {
      const seen: string[] = [];
      let after: Awaited<ReturnType<FileRepository['list']>>['after'];
      do {
        const page = await repo.list({ ownerId: owner, sort, limit: 3, ...(after && { after }) });
        seen.push(...page.items.map((f) => f.fileId));
        after = page.after;
        // Two uploads land while the client reads this page.
        for (let i = 0; i < 2 && after; i++) await repo.createPending(newFile({ ownerId: owner }));
      } while (after);
      expect(new Set(seen).size, sort).toBe(seen.length);
      for (const id of originals) expect(seen, sort).toContain(id);
      // Newest first: files that arrive later sort before the cursor and are not shown.
      if (sort === '-createdAt') expect(seen.length, sort).toBe(originals.size);
    }
  });

  it('combines status, type and date filters, and ends on an exact last page or an empty one', async () => {
    const owner = `mixed-${driver}`;
    const created: string[] = [];
    const marks: Date[] = [];
    for (let i = 0; i < 6; i++) {
      marks.push(new Date());
      await new Promise((resolve) => setTimeout(resolve, 5));
      const file = await repo.createPending(
        newFile({
          ownerId: owner,
          filename: `m${i}.${i % 2 ? 'txt' : 'jpg'}`,
          contentType: i % 2 ? 'text/plain' : 'image/jpeg',
        }),
      );
      created.push(file.fileId);
      if (i < 4) await repo.finish(file.fileId, { ...processed, contentType: file.contentType });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const base = { ownerId: owner, sort: 'filename' as const, limit: 10 };
    const names = async (query: Partial<Parameters<FileRepository['list']>[0]>) =>
      (await repo.list({ ...base, ...query })).items.map((f) => f.filename);
    expect(await names({ status: 'PROCESSED' })).toEqual(['m0.jpg', 'm1.txt', 'm2.jpg', 'm3.txt']);
    expect(await names({ status: 'PROCESSED', contentType: 'image/*' })).toEqual([
      'm0.jpg',
      'm2.jpg',
    ]);
    expect(await names({ status: 'PENDING_UPLOAD', contentType: 'text/plain' })).toEqual([
      'm5.txt',
    ]);
    expect(
      await names({ createdFrom: marks[1], createdTo: marks[3], contentType: 'image/jpeg' }),
    ).toEqual(['m2.jpg']);
    expect(await names({ status: 'REJECTED' })).toEqual([]);

    // Six files, three a page: the second page is the last and says so; a stranger's is empty.
    const first = await repo.list({ ...base, limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.after).toBeDefined();
    const last = await repo.list({ ...base, limit: 3, ...(first.after && { after: first.after }) });
    expect(last.items.map((f) => f.filename)).toEqual(['m3.txt', 'm4.jpg', 'm5.txt']);
    expect(last.after).toBeUndefined();
    const empty = await repo.list({ ...base, ownerId: `${owner}-nobody` });
    expect(empty).toEqual({ items: [], after: undefined });
  });

  it('puts a finished file back to UPLOADED for a reprocess, never one in flight or deleted', async () => {
    const now = { timing, now: new Date() };
    const file = await repo.createPending(newFile());
    expect(await repo.queueReprocess(OWNER, file.fileId, randomUUID(), now)).toBeUndefined();
    await repo.startProcessing(file.fileId, claim());
    expect(await repo.queueReprocess(OWNER, file.fileId, randomUUID(), now)).toBeUndefined();
    await repo.finish(file.fileId, processed);
    expect(
      await repo.queueReprocess('someone-else', file.fileId, randomUUID(), now),
    ).toBeUndefined();
    const id = randomUUID();
    const queued = await repo.queueReprocess(OWNER, file.fileId, id, now);
    expect(queued).toMatchObject({ status: 'UPLOADED', sha256: processed.sha256, reprocessId: id });
    // Queued already: a second request does not queue a second run.
    expect(await repo.queueReprocess(OWNER, file.fileId, randomUUID(), now)).toBeUndefined();
    expect((await repo.startProcessing(file.fileId, claim()))?.status).toBe('PROCESSING');
    expect((await repo.finish(file.fileId, processed))?.reprocessId).toBeNull();
    await repo.markDeleted(OWNER, file.fileId);
    expect(await repo.queueReprocess(OWNER, file.fileId, randomUUID(), now)).toBeUndefined();
  });

  it('keeps a told FAILED told when the sweeper ends a plain re-run of it that stopped', async () => {
    const file = await repo.createPending(newFile());
    await repo.startProcessing(file.fileId, claim());
    await repo.finish(file.fileId, { ...processed, status: 'FAILED', reason: 'it broke' });
    expect(await repo.markPublished(file.fileId, 'FAILED')).toBe(true);
    // A late copy of its event runs it again, and that run dies (its process killed).
    const rerun = await repo.startProcessing(file.fileId, claim());
    if (!rerun) throw new Error('not started');
    const ended = await repo.endUnfinished(rerun, 'FAILED', 'stuck', new Date());
    expect(ended).toMatchObject({ status: 'FAILED', publishedStatus: 'FAILED' });
    // A stuck reprocess is told.
    await repo.queueReprocess(OWNER, file.fileId, randomUUID(), { timing, now: new Date() });
    const again = await repo.startProcessing(file.fileId, claim());
    if (!again) throw new Error('not started');
    expect(await repo.endUnfinished(again, 'FAILED', 'stuck', new Date())).toMatchObject({
      publishedStatus: null,
    });
  });

  it('keeps an outcome told when a plain re-run ends the same way, and lets a reprocess tell its own', async () => {
    const now = { timing, now: new Date() };
    const failed = { ...processed, status: 'FAILED' as const, reason: 'it broke' };
    const file = await repo.createPending(newFile());
    await repo.startProcessing(file.fileId, claim());
    await repo.finish(file.fileId, failed);
    expect(await repo.markPublished(file.fileId, 'FAILED')).toBe(true);
    // A late copy of its event runs it again, and it fails again: nothing new to tell.
    expect(await repo.startProcessing(file.fileId, claim())).toMatchObject({
      publishedStatus: 'FAILED',
      reprocessId: null,
    });
    expect(await repo.finish(file.fileId, failed)).toMatchObject({ publishedStatus: 'FAILED' });
    // It ends otherwise: a new outcome, to be told.
    await repo.startProcessing(file.fileId, claim());
    expect(await repo.finish(file.fileId, processed)).toMatchObject({ publishedStatus: null });
    expect(await repo.markPublished(file.fileId, 'PROCESSED')).toBe(true);
    // A reprocess that ends as before is told all the same: the owner asked.
    await repo.queueReprocess(OWNER, file.fileId, randomUUID(), now);
    await repo.startProcessing(file.fileId, claim());
    expect(await repo.finish(file.fileId, processed)).toMatchObject({ publishedStatus: null });
    // So is one whose request the record no longer names (a parked request, redriven).
    await repo.queueReprocess(OWNER, file.fileId, randomUUID(), now);
    await repo.startProcessing(file.fileId, claim());
    await repo.finish(file.fileId, failed);
    expect(await repo.markPublished(file.fileId, 'FAILED')).toBe(true);
    expect(await repo.startProcessing(file.fileId, claim())).toMatchObject({ reprocessId: null });
    expect(await repo.finish(file.fileId, failed, { reprocess: true })).toMatchObject({
      publishedStatus: null,
    });
  });

  it('queues a stuck file for a reprocess by the rules the sweeper follows', async () => {
    const now = new Date();
    const cut = await repo.createPending(newFile());
    await repo.startProcessing(cut.fileId, claim('v1', 3, new Date(now.getTime() - 301_000)));
    expect(
      await repo.queueReprocess(OWNER, cut.fileId, randomUUID(), { timing, now }),
    ).toMatchObject({ status: 'UPLOADED' });
    const running = await repo.createPending(newFile());
    await repo.startProcessing(running.fileId, claim('v1', 3, new Date(now.getTime() + 60_000)));
    expect(
      await repo.queueReprocess(OWNER, running.fileId, randomUUID(), { timing, now }),
    ).toBeUndefined();
  });

  it('takes back a reprocess whose message was never sent, only its own and only while queued', async () => {
    const now = { timing, now: new Date() };
    const file = await repo.createPending(newFile());
    await repo.startProcessing(file.fileId, claim());
    await repo.finish(file.fileId, processed);
    await repo.markPublished(file.fileId, 'PROCESSED');
    const first = randomUUID();
    await repo.queueReprocess(OWNER, file.fileId, first, now);
    // Another request's id (one that replaced this one) takes nothing back.
    await repo.abandonReprocess(file.fileId, randomUUID(), 'PROCESSED');
    expect(await repo.get(file.fileId)).toMatchObject({ status: 'UPLOADED', reprocessId: first });
    // Its own: the file is as it was, results and told outcome kept, so nothing is told again.
    await repo.abandonReprocess(file.fileId, first, 'PROCESSED');
    const back = await repo.get(file.fileId);
    expect(back).toMatchObject({
      status: 'PROCESSED',
      reprocessId: null,
      publishedStatus: 'PROCESSED',
      sha256: processed.sha256,
      metadata: processed.metadata,
    });
    expect(back?.derivatives).toEqual(processed.derivatives);
    // The owner may ask again, and a processor that took the file meanwhile keeps it.
    const second = randomUUID();
    expect(await repo.queueReprocess(OWNER, file.fileId, second, now)).toMatchObject({
      status: 'UPLOADED',
      reprocessId: second,
    });
    await repo.startProcessing(file.fileId, claim());
    await repo.abandonReprocess(file.fileId, second, 'PROCESSED');
    expect((await repo.get(file.fileId))?.status).toBe('PROCESSING');
  });

  it('puts a stuck file whose reprocess was taken back where the sweeper still ends it', async () => {
    const now = new Date();
    const file = await repo.createPending(newFile());
    const cutAt = new Date(now.getTime() - 301_000);
    await repo.startProcessing(file.fileId, claim('v1', 3, cutAt));
    const id = randomUUID();
    await repo.queueReprocess(OWNER, file.fileId, id, { timing, now });
    await repo.abandonReprocess(file.fileId, id, 'PROCESSING');
    expect(await repo.get(file.fileId)).toMatchObject({
      status: 'PROCESSING',
      reprocessId: null,
      attempts: 3,
      deadline: cutAt,
    });
    const found = await repo.unfinished(timing, now, 1000);
    expect(found.stuck.map((f) => f.fileId)).toContain(file.fileId);
  });

  it('rejects a pending upload once, with a short reason, for its owner only', async () => {
    const file = await repo.createPending(newFile());
    expect(await repo.rejectUpload('someone-else', file.fileId, 'mismatch')).toBeUndefined();
    expect((await repo.get(file.fileId))?.status).toBe('PENDING_UPLOAD');
    const reason = `The parts' CRC64NVME «${'x'.repeat(10_000)}» is not the file's`;
    const rejected = await repo.rejectUpload(OWNER, file.fileId, reason);
    expect(rejected).toMatchObject({ status: 'REJECTED', publishedStatus: null });
    expect(rejected?.reason).toHaveLength(MAX_REASON_LENGTH);
    expect(rejected?.reason?.startsWith("The parts' CRC64NVME «x")).toBe(true);
    expect(rejected?.processedAt).toBeInstanceOf(Date);
    // A second completion of the same upload finds it no longer waiting, and its event goes out once.
    expect(await repo.rejectUpload(OWNER, file.fileId, 'again')).toBeUndefined();
    expect(await repo.markPublished(file.fileId, 'REJECTED')).toBe(true);
    // No late event revives it.
    expect(await repo.markUploaded([{ fileId: file.fileId, ownerId: OWNER }])).toBe(0);
    expect(await repo.startProcessing(file.fileId, claim())).toBeUndefined();
    expect(await repo.get(file.fileId)).toMatchObject({
      status: 'REJECTED',
      reason: rejected?.reason,
      publishedStatus: 'REJECTED',
    });
  });

  it('never rejects an upload that arrived, was processed or expired', async () => {
    const now = new Date();
    const arrived = await repo.createPending(newFile());
    await repo.markUploaded([{ fileId: arrived.fileId, ownerId: OWNER }]);
    const done = await repo.createPending(newFile());
    await repo.startProcessing(done.fileId, claim());
    await repo.finish(done.fileId, processed);
    const expired = await repo.createPending(newFile());
    await repo.endUnfinished(expired, 'EXPIRED', 'The upload URL expired', now);
    for (const [file, status] of [
      [arrived, 'UPLOADED'],
      [done, 'PROCESSED'],
      [expired, 'EXPIRED'],
    ] as const) {
      expect(await repo.rejectUpload(OWNER, file.fileId, 'mismatch')).toBeUndefined();
      expect(await repo.get(file.fileId)).toMatchObject({
        status,
        reason: status === 'EXPIRED' ? 'The upload URL expired' : null,
      });
    }
  });

  it('lets the first version claimed hold the file, and only that one finish it', async () => {
    const file = await repo.createPending(newFile());
    expect(await repo.startProcessing(file.fileId, claim('v1'))).toMatchObject({
      objectVersion: 'v1',
      versionId: 'v1',
      attempts: 1,
    });
    // Another version (a form sent again) may not take it, nor write its outcome.
    expect(await repo.startProcessing(file.fileId, claim('v2'))).toBeUndefined();
    expect(
      await repo.finish(file.fileId, { ...processed, objectVersion: 'v2', sha256: 'b'.repeat(64) }),
    ).toBeUndefined();
    // The same version again (a redelivery after a crash) may, and says which delivery it is.
    expect(await repo.startProcessing(file.fileId, claim('v1', 2))).toMatchObject({ attempts: 2 });
    const deadline = new Date(Date.now() + 120_000);
    expect(await repo.startProcessing(file.fileId, claim('v1', 2, deadline))).toMatchObject({
      deadline,
    });
    // A delivery that finds the run still going learns when that run stops at the latest.
    expect((await repo.noteAttempt(file.fileId, 3))?.deadline).toEqual(deadline);
    expect((await repo.get(file.fileId))?.attempts).toBe(3);
    const done = await repo.finish(file.fileId, processed);
    expect(done).toMatchObject({ status: 'PROCESSED', publishedStatus: null });
    expect(await repo.startProcessing(file.fileId, claim('v2'))).toBeUndefined();
    // Its event goes out once.
    expect(await repo.markPublished(file.fileId, 'PROCESSED')).toBe(true);
    expect(await repo.markPublished(file.fileId, 'PROCESSED')).toBe(false);
    expect((await repo.get(file.fileId))?.publishedStatus).toBe('PROCESSED');
  });

  it('keeps only ids, status and timestamps of a deleted file once its deletion is done', async () => {
    // A tabular file's dataset is a name the user chose: it goes too.
    const file = await repo.createPending(
      newFile({ filename: 'private name.jpg', dataset: 'payroll_of_jane_doe' }),
    );
    await repo.startProcessing(file.fileId, claim());
    await repo.finish(file.fileId, processed);
    expect(await repo.markDeleted(OWNER, file.fileId)).toBe(true);
    // Until it is done, what the file.deleted event carries is still there.
    expect(await repo.get(file.fileId)).toMatchObject({
      status: 'DELETED',
      filename: 'private name.jpg',
      dataset: 'payroll_of_jane_doe',
      publishedStatus: null,
    });
    expect(await repo.finishDeletion(file.fileId)).toBe(true);
    expect(await repo.finishDeletion(file.fileId)).toBe(false);
    expect(await repo.get(file.fileId)).toMatchObject({
      fileId: file.fileId,
      ownerId: OWNER,
      status: 'DELETED',
      publishedStatus: 'DELETED',
      filename: '',
      contentType: '',
      size: 0,
      sha256: null,
      metadata: {},
      derivatives: [],
      reason: null,
      dataset: null,
    });
  });

  it('finds what the sweeper ends, and ends each only if it has not moved meanwhile', async () => {
    const now = new Date();
    const owner = `sweep-${randomUUID().slice(0, 8)}`;
    const expired = await repo.createPending(
      newFile({ ownerId: owner, uploadExpiresAt: new Date(now.getTime() - 301_000) }),
    );
    const fresh = await repo.createPending(newFile({ ownerId: owner }));
    const cut = await repo.createPending(newFile({ ownerId: owner }));
    await repo.startProcessing(cut.fileId, claim('v1', 3, new Date(now.getTime() - 301_000)));
    const found = await repo.unfinished(timing, now, 1000);
    const ids = (files: { fileId: string }[]) => files.map((f) => f.fileId);
    expect(ids(found.expiredUploads)).toContain(expired.fileId);
    expect(ids(found.expiredUploads)).not.toContain(fresh.fileId);
    expect(ids(found.stuck)).toContain(cut.fileId);

    const seen = found.stuck.find((f) => f.fileId === cut.fileId);
    if (!seen) throw new Error('not found');
    // The run woke up and finished meanwhile: the sweeper's write is refused.
    await repo.finish(cut.fileId, processed);
    expect(await repo.endUnfinished(seen, 'FAILED', 'stuck', now)).toBeUndefined();
    expect((await repo.get(cut.fileId))?.status).toBe('PROCESSED');

    const gone = found.expiredUploads.find((f) => f.fileId === expired.fileId);
    if (!gone) throw new Error('not found');
    expect(await repo.endUnfinished(gone, 'EXPIRED', 'The upload URL expired', now)).toMatchObject({
      status: 'EXPIRED',
      reason: 'The upload URL expired',
    });
    expect(
      (await repo.list({ ownerId: owner, status: 'EXPIRED', sort: '-createdAt', limit: 10 })).items,
    ).toHaveLength(1);
    // An upload that finishes after its file expired is still processed.
    expect((await repo.startProcessing(expired.fileId, claim()))?.status).toBe('PROCESSING');
  });

  it("finds an abandoned run by its own kind's clock, and records each file's kind", async () => {
    const now = new Date();
    const owner = `kinds-${randomUUID().slice(0, 8)}`;
    const perKind = {
      ...timing,
      processorTimeoutSeconds: 900,
      visibilityTimeoutSeconds: 5400,
      kinds: {
        image: { processorTimeoutSeconds: 30, visibilityTimeoutSeconds: 180 },
        tabular: { processorTimeoutSeconds: 900, visibilityTimeoutSeconds: 5400 },
        logs: { processorTimeoutSeconds: 900, visibilityTimeoutSeconds: 5400 },
        other: { processorTimeoutSeconds: 30, visibilityTimeoutSeconds: 180 },
      },
    };
    // Both runs' deadlines passed 15 minutes ago, on their first delivery: an image's clock
    // (3 × 180 s + 300 s) says it was abandoned; a table's (3 × 5400 s + 300 s) says wait.
    const deadline = new Date(now.getTime() - 900_000);
    const image = await repo.createPending(newFile({ ownerId: owner }));
    const table = await repo.createPending(
      newFile({
        ownerId: owner,
        filename: 'sales.csv',
        key: uploadKey(owner, randomUUID(), 'tabular'),
        kind: 'tabular',
        dataset: 'sales',
      }),
    );
    expect(table).toMatchObject({ kind: 'tabular', dataset: 'sales' });
    expect(image).toMatchObject({ kind: 'image', dataset: null });
    await repo.startProcessing(image.fileId, claim('v1', 1, deadline));
    await repo.startProcessing(table.fileId, claim('v1', 1, deadline));
    const stuck = (await repo.unfinished(perKind, now, 1000)).stuck.map((f) => f.fileId);
    expect(stuck).toContain(image.fileId);
    expect(stuck).not.toContain(table.fileId);
    // Without per-kind clocks, the stage-wide (slowest) one keeps both.
    const { kinds: _kinds, ...stageWide } = perKind;
    const either = (await repo.unfinished(stageWide, now, 1000)).stuck.map((f) => f.fileId);
    expect(either).not.toContain(image.fileId);
  });

  it("counts requests per owner and minute, with the owner's open uploads", async () => {
    const owner = `counter-${randomUUID().slice(0, 8)}`;
    const at = new Date('2026-12-01T10:00:10Z');
    expect(await repo.countRequest(owner, 'upload', at, 10)).toEqual({
      count: 1,
      pendingUploads: 0,
    });
    await repo.createPending(newFile({ ownerId: owner }));
    await repo.createPending(newFile({ ownerId: owner }));
    expect(await repo.countRequest(owner, 'upload', new Date('2026-12-01T10:00:50Z'), 10)).toEqual({
      count: 2,
      pendingUploads: 2,
    });
    // Another action, another minute, another owner: counted apart; the open count is capped.
    expect((await repo.countRequest(owner, 'reprocess', at, 1)).count).toBe(1);
    expect(await repo.countRequest(owner, 'upload', new Date('2026-12-01T10:01:00Z'), 1)).toEqual({
      count: 1,
      pendingUploads: 1,
    });
    expect((await repo.countRequest(`${owner}-2`, 'upload', at, 10)).count).toBe(1);
    expect(await repo.pruneRequestCounts(new Date('2026-12-01T10:01:00Z'))).toBeGreaterThanOrEqual(
      2,
    );
    expect((await repo.countRequest(owner, 'upload', at, 10)).count).toBe(1);
  });

  it('records a batch of uploads in one statement, counted as that many requests', async () => {
    const owner = `batch-${randomUUID().slice(0, 8)}`;
    const now = new Date('2026-12-01T11:00:05Z');
    const limits = { perMinute: 5, pendingCap: 4, now };
    const csv = newFile({
      ownerId: owner,
      filename: 'sales 2026.csv',
      contentType: 'text/csv',
      kind: 'tabular',
      dataset: 'sales',
      checksumSha256: 'b'.repeat(64),
    });
    const photo = newFile({ ownerId: owner, filename: 'Zoë™.jpg' });
    expect(await repo.createPendingBatch(owner, [csv, photo], limits)).toEqual({
      created: true,
      count: 2,
      pendingUploads: 0,
    });
    const stored = await repo.get(csv.fileId);
    expect(stored).toMatchObject({
      ownerId: owner,
      filename: 'sales 2026.csv',
      declaredContentType: 'text/csv',
      declaredSize: 100,
      checksumSha256: 'b'.repeat(64),
      key: csv.key,
      kind: 'tabular',
      dataset: 'sales',
      status: 'PENDING_UPLOAD',
      metadata: {},
      derivatives: [],
    });
    expect(stored?.uploadExpiresAt?.toISOString()).toBe(csv.uploadExpiresAt.toISOString());
    expect(stored?.createdAt.toISOString()).toBe(now.toISOString());
    expect((await repo.get(photo.fileId))?.filename).toBe('Zoë™.jpg');
    // A single request counts in the same window.
    expect((await repo.countRequest(owner, 'upload', now, 10)).count).toBe(3);
  });

  it('refuses a whole batch over a limit, records none of it and counts nothing', async () => {
    const owner = `batch-${randomUUID().slice(0, 8)}`;
    const now = new Date('2026-12-01T11:00:05Z');
    const files = (n: number) => Array.from({ length: n }, () => newFile({ ownerId: owner }));
    // Open uploads: 3 recorded, so 2 more reach the cap of 5 and 3 more would pass it.
    expect(
      (await repo.createPendingBatch(owner, files(3), { perMinute: 100, pendingCap: 5, now }))
        .created,
    ).toBe(true);
    const over = files(3);
    expect(
      await repo.createPendingBatch(owner, over, { perMinute: 100, pendingCap: 5, now }),
    ).toEqual({ created: false, refusedBy: 'pendingUploads', pendingUploads: 3 });
    expect(await repo.get(over[0]?.fileId ?? '')).toBeUndefined();
    expect(
      await repo.createPendingBatch(owner, files(2), { perMinute: 100, pendingCap: 5, now }),
    ).toEqual({ created: true, count: 5, pendingUploads: 3 });
    // Per minute: 5 counted; 2 more pass a limit of 6, 1 more fits it.
    expect(
      await repo.createPendingBatch(owner, files(2), { perMinute: 6, pendingCap: 100, now }),
    ).toEqual({ created: false, refusedBy: 'perMinute', pendingUploads: 5 });
    expect(
      await repo.createPendingBatch(owner, files(1), { perMinute: 6, pendingCap: 100, now }),
    ).toEqual({ created: true, count: 6, pendingUploads: 5 });
    // The next minute starts afresh, but a batch larger than the limit never fits.
    const later = new Date('2026-12-01T11:01:05Z');
    expect(
      await repo.createPendingBatch(owner, files(7), { perMinute: 6, pendingCap: 100, now: later }),
    ).toEqual({ created: false, refusedBy: 'perMinute', pendingUploads: 6 });
    expect(
      await repo.createPendingBatch(owner, files(6), { perMinute: 6, pendingCap: 100, now: later }),
    ).toEqual({ created: true, count: 6, pendingUploads: 6 });
    const listed = await repo.list({
      ownerId: owner,
      sort: '-createdAt',
      limit: 100,
    });
    expect(listed.items).toHaveLength(12);
  });

  it("marks arrived uploads UPLOADED, only from PENDING_UPLOAD and only the key's owner's", async () => {
    const waiting = await repo.createPending(newFile());
    const alsoWaiting = await repo.createPending(newFile());
    const done = await repo.createPending(newFile());
    await repo.startProcessing(done.fileId, claim());
    await repo.finish(done.fileId, processed);
    const othersKey = await repo.createPending(newFile());

    expect(await repo.markUploaded([])).toBe(0);
    const moved = await repo.markUploaded([
      { fileId: waiting.fileId, ownerId: OWNER },
      { fileId: alsoWaiting.fileId, ownerId: OWNER },
      { fileId: done.fileId, ownerId: OWNER },
      { fileId: othersKey.fileId, ownerId: 'someone-else' },
      { fileId: randomUUID(), ownerId: OWNER },
    ]);
    expect(moved).toBe(2);
    expect((await repo.get(waiting.fileId))?.status).toBe('UPLOADED');
    expect((await repo.get(alsoWaiting.fileId))?.status).toBe('UPLOADED');
    expect((await repo.get(done.fileId))?.status).toBe('PROCESSED');
    expect((await repo.get(othersKey.fileId))?.status).toBe('PENDING_UPLOAD');
    // A replayed event changes nothing, and processing goes on from UPLOADED.
    expect(await repo.markUploaded([{ fileId: waiting.fileId, ownerId: OWNER }])).toBe(0);
    expect((await repo.startProcessing(waiting.fileId, claim()))?.status).toBe('PROCESSING');
  });

  // Issue 15: a video run's progress (migration 0006).
  const videoProcessed = {
    status: 'PROCESSED' as const,
    objectVersion: 'v1',
    size: 1000,
    contentType: 'video/mp4',
    sha256: null,
    metadata: {},
    derivatives: [],
    reason: null,
  };
  const processing = async () => {
    const fileId = randomUUID();
    await repo.createPending({
      fileId,
      ownerId: 'video-owner',
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      size: 1000,
      checksumSha256: null,
      bucket: 'bucket',
      key: uploadKey('video-owner', fileId, 'video'),
      uploadExpiresAt: new Date(Date.now() + 900_000),
    });
    await repo.startProcessing(fileId, {
      objectVersion: 'v1',
      versionId: 'v1',
      attempts: 1,
      deadline: new Date(Date.now() + 3_600_000),
    });
    return fileId;
  };

  it('a video’s progress moves only forward, only for the version being processed, and is gone once the file ends', async () => {
    const fileId = await processing();
    expect(await repo.progressOf(fileId)).toBeNull();
    const first = await repo.recordProgress(fileId, 'v1', 42.9);
    expect(first?.fileId).toBe(fileId);
    expect(await repo.progressOf(fileId)).toBe(42);
    // A late or repeated report, or one for another version, changes nothing.
    expect(await repo.recordProgress(fileId, 'v1', 30)).toBeUndefined();
    expect(await repo.recordProgress(fileId, 'v1', 42)).toBeUndefined();
    expect(await repo.recordProgress(fileId, 'v2', 90)).toBeUndefined();
    expect(await repo.progressOf(fileId)).toBe(42);
    // Out-of-range reports are held to 0..100, which the column also enforces.
    expect((await repo.recordProgress(fileId, 'v1', 250))?.fileId).toBe(fileId);
    expect(await repo.progressOf(fileId)).toBe(100);

    await repo.finish(fileId, videoProcessed);
    expect(await repo.progressOf(fileId)).toBeNull();
    expect(await repo.recordProgress(fileId, 'v1', 100)).toBeUndefined();
    await repo.clearProgress(fileId);
    const [row] = await handle.db.query<{ progress: unknown }>(
      'SELECT progress FROM files WHERE file_id = $1::uuid',
      [fileId],
    );
    expect(row?.progress).toBeNull();
  });

  it('refuses a progress outside 0..100 written straight to the column', async () => {
    const fileId = await processing();
    await expect(
      handle.db.query('UPDATE files SET progress = 101 WHERE file_id = $1::uuid', [fileId]),
    ).rejects.toThrow();
  });

  it('keeps the execution that took a video’s run, for that version only, past its end, not past a delete', async () => {
    const fileId = await processing();
    expect(await repo.videoExecutionOf(fileId)).toBeNull();
    const execution = 'arn:aws:states:eu-west-1:000000000000:execution:Video:run-1';
    await repo.noteVideoExecution(fileId, 'v2', `${execution}-other`);
    expect(await repo.videoExecutionOf(fileId)).toBeNull();
    await repo.noteVideoExecution(fileId, 'v1', execution);
    expect(await repo.videoExecutionOf(fileId)).toBe(execution);
    await repo.finish(fileId, videoProcessed);
    // The workflow may end the file before the hand-off is written: it is kept all the same.
    await repo.noteVideoExecution(fileId, 'v1', `${execution}-again`);
    expect(await repo.videoExecutionOf(fileId)).toBe(`${execution}-again`);
    expect(await repo.markDeleted('video-owner', fileId)).toBe(true);
    expect(await repo.videoExecutionOf(fileId)).toBeNull();
    await repo.noteVideoExecution(fileId, 'v1', execution);
    const [row] = await handle.db.query<{ video_execution: unknown }>(
      'SELECT video_execution FROM files WHERE file_id = $1::uuid',
      [fileId],
    );
    expect(row?.video_execution).toBeNull();
  });
});
