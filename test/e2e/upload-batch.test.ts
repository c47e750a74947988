import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { UploadBatchResponse, UploadResponse } from '../../client/src/index.ts';
import { type ApiClient, postForm, waitForFile } from '../support/api-client.ts';
import { freshUsers } from '../support/e2e-users.ts';
import { makeJpeg } from '../support/images.ts';

/**
 * `POST /uploads/batch` through the deployed stack: each file answered as `POST /uploads`
 * would answer it, and each counted against the user's limits as one request.
 */
const target = inject('target');
let uploader: ApiClient;
/** A user of the limit test alone: it fills its allowance of open uploads. */
let hoarder: ApiClient;
let removeUsers: () => Promise<void>;

const isUpload = (item: UploadBatchResponse['items'][number] | undefined): item is UploadResponse =>
  item !== undefined && 'fileId' in item;

describe(`POST /uploads/batch on the ${target.name} stack`, () => {
  beforeAll(async () => {
    const fresh = await freshUsers(target, ['batcher', 'hoarder']);
    removeUsers = fresh.remove;
    [uploader, hoarder] = fresh.users.map((u) => u.api) as [ApiClient, ApiClient];
  });
  afterAll(async () => {
    await removeUsers?.();
  });

  it('answers valid and invalid files in one request; the valid ones upload and process', async () => {
    const jpeg = await makeJpeg(64, 48);
    const csv = Buffer.from('region,amount\nnorth,3\nsouth,4\n');
    const response = await uploader.request<UploadBatchResponse>('POST', '/uploads/batch', {
      body: {
        files: [
          { filename: 'batch photo.jpg', contentType: 'image/jpeg', size: jpeg.length },
          { filename: 'page.html', contentType: 'text/html', size: 10 },
          { filename: 'huge.bin', contentType: 'application/octet-stream', size: 2 ** 50 },
          { filename: '///', contentType: 'text/plain', size: 1 },
          { filename: 'batch-sales.csv', contentType: 'text/csv', size: csv.length },
        ],
      },
    });
    expect(response.status).toBe(200);
    const [photo, html, huge, nameless, table] = response.body.items;
    expect(html).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(huge).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(nameless).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    if (!isUpload(photo) || !isUpload(table)) throw new Error('the valid files got no upload');
    expect(table).toMatchObject({ kind: 'tabular', dataset: 'batch_sales' });
    for (const [item, name, type, data] of [
      [photo, 'batch photo.jpg', 'image/jpeg', jpeg],
      [table, 'batch-sales.csv', 'text/csv', csv],
    ] as const) {
      if (item.upload.method !== 'POST') throw new Error('a small file got no presigned POST');
      expect(await postForm(item.upload, name, type, data)).toBe(204);
    }
    expect((await waitForFile(uploader, photo.fileId, undefined, 60_000)).status).toBe('PROCESSED');
    expect((await waitForFile(uploader, table.fileId, undefined, 60_000)).status).toBe('PROCESSED');
    // The refused files left nothing behind: the user has these two files and no others.
    const listed = await uploader.request<{ items: { filename: string }[] }>('GET', '/files');
    expect(listed.body.items.map((f) => f.filename).sort()).toEqual([
      'batch photo.jpg',
      'batch-sales.csv',
    ]);
  });

  it("counts each file against the user's open uploads; a batch that would pass the limit is refused whole", async () => {
    const file = { filename: 'held.txt', contentType: 'text/plain', size: 5 };
    const batch = (n: number) =>
      hoarder.request<UploadBatchResponse>('POST', '/uploads/batch', {
        body: { files: Array.from({ length: n }, () => file) },
      });
    // Fill the stage's allowance of open uploads (whatever it is) with batches that halve
    // each time one is refused, so it ends exactly full.
    let recorded = 0;
    let refusals = 0;
    for (let size = 100; size >= 1 && recorded < 10_000; ) {
      const answer = await batch(size);
      if (answer.status === 200) {
        expect(answer.body.items.every(isUpload)).toBe(true);
        recorded += size;
        continue;
      }
      expect(answer.status).toBe(429);
      expect(answer.body).toMatchObject({ error: { code: 'TOO_MANY_REQUESTS' } });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      refusals++;
      size = Math.floor(size / 2);
    }
    expect(refusals).toBeGreaterThan(0);
    expect(recorded).toBeGreaterThan(100);
    // Full: one more file is refused, alone or in a batch of one.
    expect((await batch(1)).status).toBe(429);
    expect((await hoarder.request('POST', '/uploads', { body: file })).status).toBe(429);
    // Every accepted file is recorded, and no refused batch recorded any.
    let open = 0;
    for await (const _ of hoarder.api.files({ status: 'PENDING_UPLOAD', limit: 100 })) open++;
    expect(open).toBe(recorded);
  });
});
