import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { FileRepository, type NewFile } from '#shared/adapters/file-repository.ts';
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
    key: uploadKey(ownerId, fileId),
    ...overrides,
  };
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

describe.each<TestDriver>(['pg', 'pglite'])('file repository on %s', (driver) => {
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
    expect(await repo.startProcessing(file.fileId, 'v1')).toMatchObject({ status: 'PROCESSING' });
    const done = await repo.finish(file.fileId, processed);
    expect(done).toMatchObject({ status: 'PROCESSED', metadata: processed.metadata });
    expect(done?.derivatives).toEqual(processed.derivatives);
    expect(done?.processedAt).toBeInstanceOf(Date);
    // A replay changes nothing: neither the end state nor a move back to PROCESSING.
    expect(await repo.finish(file.fileId, processed)).toBeUndefined();
    expect(await repo.startProcessing(file.fileId, 'v1')).toBeUndefined();
    expect(
      await repo.finish(file.fileId, { ...processed, status: 'FAILED', reason: 'late' }),
    ).toBeUndefined();
    expect((await repo.get(file.fileId))?.status).toBe('PROCESSED');
  });

  it('lets a failed file be tried again', async () => {
    const file = newFile();
    await repo.createPending(file);
    await repo.finish(file.fileId, { ...processed, status: 'FAILED', reason: 'S3 timed out' });
    expect(await repo.startProcessing(file.fileId, 'v1')).toMatchObject({
      status: 'PROCESSING',
      reason: null,
    });
  });

  it('never revives a deleted file and ignores a second delete', async () => {
    const file = newFile();
    await repo.createPending(file);
    expect(await repo.markDeleted(OWNER, file.fileId)).toBe(true);
    expect(await repo.markDeleted(OWNER, file.fileId)).toBe(false);
    expect(await repo.startProcessing(file.fileId, 'v1')).toBeUndefined();
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
});
