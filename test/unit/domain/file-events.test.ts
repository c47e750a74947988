import { describe, expect, it } from 'vitest';
import { eventDetail } from '#shared/adapters/event-publisher.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { notificationFor } from '#shared/domain/notification.ts';

const file: FileRecord = {
  fileId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  ownerId: 'owner-1',
  filename: 'orders.csv',
  declaredContentType: 'text/csv',
  declaredSize: 10,
  checksumSha256: null,
  bucket: 'b',
  key: 'uploads/tabular/owner-1/0f8fad5b-d9cb-469f-a165-70867728950e',
  kind: 'tabular',
  dataset: 'orders',
  status: 'PROCESSED',
  size: 10,
  contentType: 'text/csv',
  sha256: 'a'.repeat(64),
  metadata: {},
  derivatives: [],
  reason: null,
  objectVersion: 'v1',
  versionId: 'v1',
  uploadExpiresAt: null,
  attempts: 1,
  deadline: null,
  reprocessId: null,
  publishedStatus: null,
  createdAt: new Date(),
  updatedAt: new Date(),
  processedAt: new Date(),
};

describe('file events and WebSocket messages', () => {
  it("name the file's kind, and a tabular file's dataset", () => {
    const detail = eventDetail(file);
    expect(detail).toMatchObject({ kind: 'tabular', dataset: 'orders' });
    const { message } = notificationFor({
      id: 'e1',
      'detail-type': 'file.processed',
      time: '2026-12-01T10:00:00Z',
      detail,
    });
    expect(message).toMatchObject({ kind: 'tabular', fileId: file.fileId, status: 'PROCESSED' });
  });

  it('leave a table preview out of the event, which the record keeps', () => {
    const tabular = {
      rowCount: 1,
      columns: [],
      preview: { columns: ['a'], rows: [['x'.repeat(1000)]] },
    } as unknown as NonNullable<FileRecord['metadata']['tabular']>;
    const detail = eventDetail({ ...file, metadata: { tabular } });
    expect(detail.metadata.tabular?.preview).toEqual({ columns: [], rows: [] });
    expect(detail.metadata.tabular?.rowCount).toBe(1);
  });
});
