import { describe, expect, it } from 'vitest';
import { reprocessMessage } from '#shared/domain/reprocess.ts';
import { parseIngestMessage } from '#shared/processing/ingest-message.ts';
import { objectCreatedEvent } from '../../support/events.ts';

const KEY = 'uploads/alice/6f1c2a52-6c0e-4c47-9a57-1d1e5b1f3d0a';

describe('ingest messages', () => {
  it('reads an S3 Object Created event and keys it by object version', () => {
    const work = parseIngestMessage(JSON.stringify(objectCreatedEvent('b', KEY, 5, 'v9')));
    expect(work).toMatchObject({ bucket: 'b', key: KEY, versionId: 'v9', version: 'v9' });
    expect(work.reprocessId).toBeUndefined();
  });

  it('gives a reprocess request a version of its own, the same for every delivery of it', () => {
    const body = JSON.stringify(
      reprocessMessage({ bucket: 'b', key: KEY, versionId: 'v9' }, 'r1', 'image'),
    );
    const work = parseIngestMessage(body);
    expect(work).toMatchObject({ bucket: 'b', key: KEY, versionId: 'v9', reprocessId: 'r1' });
    expect(work.version).toBe('v9#reprocess:r1');
    expect(parseIngestMessage(body).version).toBe(work.version);
    const other = reprocessMessage({ bucket: 'b', key: KEY, versionId: 'v9' }, 'r2', 'image');
    expect(parseIngestMessage(JSON.stringify(other)).version).not.toBe(work.version);
  });

  it('reads a reprocess request as the bus delivers it, inside its event', () => {
    const detail = reprocessMessage({ bucket: 'b', key: KEY, versionId: 'v9' }, 'r1', 'image');
    const event = { 'detail-type': 'file.reprocess-requested', source: 'syncflow.files', detail };
    expect(parseIngestMessage(JSON.stringify(event))).toMatchObject({
      key: KEY,
      reprocessId: 'r1',
      version: 'v9#reprocess:r1',
    });
  });

  it.each([
    ['not JSON', 'hello'],
    ['JSON of another shape', '{"detail":{}}'],
    ['a reprocess request without its id', '{"type":"syncflow.reprocess","bucket":"b","key":"k"}'],
    [
      'a reprocess request with a wrong type',
      '{"type":"syncflow.reprocess","reprocessId":"r","bucket":7,"key":"k"}',
    ],
  ])('refuses %s', (_name, body) => {
    expect(() => parseIngestMessage(body)).toThrow();
  });
});
