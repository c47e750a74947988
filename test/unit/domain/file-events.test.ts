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

  it('carry one outcomeId for every publication of an outcome, which the WebSocket message names as its eventId', () => {
    const processedAt = new Date('2026-12-01T10:00:00.123Z');
    const ended = { ...file, processedAt };
    const first = eventDetail(ended);
    // The same record read again (a republication) gives the same id; a new run's end does not.
    expect(eventDetail({ ...ended }).outcomeId).toBe(first.outcomeId);
    expect(first.outcomeId).toBe(`${file.fileId}:PROCESSED:2026-12-01T10:00:00.123Z`);
    expect(
      eventDetail({ ...ended, processedAt: new Date('2026-12-01T10:05:00Z') }).outcomeId,
    ).not.toBe(first.outcomeId);
    expect(eventDetail({ ...ended, status: 'FAILED' }).outcomeId).not.toBe(first.outcomeId);
    // A run's start is no outcome.
    expect(eventDetail({ ...ended, status: 'PROCESSING' }).outcomeId).toBeUndefined();
    const pushed = (id: string, detail: object) =>
      notificationFor({ id, 'detail-type': 'file.processed', time: '2026-12-01T10:00:01Z', detail })
        .message.eventId;
    expect(pushed('bus-1', first)).toBe(first.outcomeId);
    expect(pushed('bus-2', first)).toBe(first.outcomeId);
    // An event published before outcomeId existed (an archive replay) keeps the bus event's id.
    const { outcomeId: _none, ...older } = first;
    expect(pushed('bus-3', older)).toBe('bus-3');
  });
});
