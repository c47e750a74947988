import { describe, expect, it } from 'vitest';
import {
  checkSoak,
  quantile,
  type RecordSeen,
  type SoakObservations,
  type UploadSeen,
} from '../../../scripts/lib/soak/checks.ts';

const owner = 'owner-a';
const ids = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
] as const;
const [a, b] = ids;

/** Two files that went right: one PROCESSED with a thumbnail, one REJECTED with its reason. */
const clean = (): SoakObservations => ({
  uploads: [
    { index: 0, ownerId: owner, expected: 'PROCESSED', fileId: a, uploadedAt: 1 },
    { index: 1, ownerId: owner, expected: 'NOT_PROCESSED', fileId: b, uploadedAt: 1 },
    { index: 2, ownerId: owner, expected: 'REFUSED', refusedWith: 413 },
  ],
  records: [
    {
      fileId: a,
      ownerId: owner,
      status: 'PROCESSED',
      reason: null,
      key: `uploads/image/${owner}/${a}`,
    },
    {
      fileId: b,
      ownerId: owner,
      status: 'REJECTED',
      reason: 'not an image',
      key: `uploads/image/${owner}/${b}`,
    },
  ],
  busEvents: [
    { id: 'e1', type: 'file.processed', fileId: a, ownerId: owner },
    { id: 'e2', type: 'file.rejected', fileId: b, ownerId: owner },
  ],
  pushes: [
    { ownerId: owner, eventId: 'e1', fileId: a, type: 'file.processed', at: 5 },
    // A retried push repeats the same eventId: allowed.
    { ownerId: owner, eventId: 'e1', fileId: a, type: 'file.processed', at: 6 },
    { ownerId: owner, eventId: 'e2', fileId: b, type: 'file.rejected', at: 7 },
  ],
  connectedOwners: [owner],
  runsByFile: new Map([
    [a, 1],
    [b, 1],
  ]),
  deadLetters: [],
  objectKeys: [
    `uploads/image/${owner}/${a}`,
    `uploads/image/${owner}/${b}`,
    `derived/${owner}/${a}/thumbnail.webp`,
  ],
  afterRedrive: new Map(),
});

const failed = (seen: SoakObservations) =>
  checkSoak(seen)
    .filter((check) => !check.ok)
    .map((check) => check.name);

describe('the soak checks', () => {
  it('pass a run where every file ended once, was told once and left nothing behind', () => {
    expect(failed(clean())).toEqual([]);
  });

  it('catch a file left in progress, a refusal without a reason and a hostile file PROCESSED', () => {
    const seen = clean();
    expect(
      failed({
        ...seen,
        records: [
          { ...(seen.records[0] as RecordSeen), status: 'PROCESSING' },
          ...seen.records.slice(1),
        ],
      }),
    ).toContain('end-states');
    expect(
      failed({
        ...seen,
        records: [
          seen.records[0] as RecordSeen,
          { ...(seen.records[1] as RecordSeen), reason: null },
        ],
      }),
    ).toContain('end-states');
    expect(
      failed({
        ...seen,
        records: [
          seen.records[0] as RecordSeen,
          { ...(seen.records[1] as RecordSeen), status: 'PROCESSED' },
        ],
      }),
    ).toContain('end-states');
  });

  it('catch a version processed twice and an outcome published twice', () => {
    const seen = clean();
    expect(failed({ ...seen, runsByFile: new Map([[a, 2]]) })).toEqual(['processed-once']);
    const twice = {
      ...seen,
      busEvents: [
        ...seen.busEvents,
        { id: 'e3', type: 'file.processed', fileId: a, ownerId: owner },
      ],
    };
    expect(failed(twice)).toContain('events-once');
  });

  it('catch an owner not told, and the same outcome pushed under two event ids', () => {
    const seen = clean();
    expect(failed({ ...seen, pushes: seen.pushes.slice(0, 2) })).toEqual(['owners-told']);
    expect(
      failed({
        ...seen,
        pushes: [
          ...seen.pushes,
          { ownerId: owner, eventId: 'e9', fileId: b, type: 'file.rejected', at: 9 },
        ],
      }),
    ).toEqual(['owners-told']);
    // An owner without a steady connection is not expected to have heard anything.
    expect(failed({ ...seen, pushes: [], connectedOwners: [] })).toEqual([]);
    // A start is pushed once per run: a file that ran twice (a crash, then its retry) is fine.
    const starts = [
      { ownerId: owner, eventId: 's1', fileId: b, type: 'file.processing', at: 1 },
      { ownerId: owner, eventId: 's2', fileId: b, type: 'file.processing', at: 2 },
    ];
    expect(failed({ ...seen, pushes: [...seen.pushes, ...starts] })).toEqual([]);
  });

  it('catch a DLQ message whose file is not FAILED, or still open after the redrive', () => {
    const seen = clean();
    expect(
      failed({ ...seen, deadLetters: [a], afterRedrive: new Map([[a, 'PROCESSED']]) }),
    ).toEqual(['dead-letters']);
    const poisoned = {
      ...seen,
      records: [
        seen.records[0] as RecordSeen,
        { ...(seen.records[1] as RecordSeen), status: 'FAILED', reason: 'crashed' },
      ],
      uploads: [
        seen.uploads[0] as UploadSeen,
        { ...(seen.uploads[1] as UploadSeen), expected: 'FAILED' as const },
      ],
      busEvents: [
        seen.busEvents[0] as SoakObservations['busEvents'][number],
        { id: 'e2', type: 'file.failed', fileId: b, ownerId: owner },
      ],
      pushes: [
        seen.pushes[0] as SoakObservations['pushes'][number],
        { ownerId: owner, eventId: 'e2', fileId: b, type: 'file.failed', at: 7 },
      ],
      deadLetters: [b],
    };
    expect(failed({ ...poisoned, afterRedrive: new Map([[b, 'FAILED']]) })).toEqual([]);
    expect(failed({ ...poisoned, afterRedrive: new Map([[b, 'PROCESSING']]) })).toEqual([
      'dead-letters',
    ]);
  });

  it('catch an object without a record and a record whose object is gone', () => {
    const seen = clean();
    expect(
      failed({
        ...seen,
        objectKeys: [
          ...seen.objectKeys,
          `uploads/other/${owner}/33333333-3333-4333-8333-333333333333`,
        ],
      }),
    ).toEqual(['bucket-and-records']);
    expect(failed({ ...seen, objectKeys: seen.objectKeys.slice(1) })).toEqual([
      'bucket-and-records',
    ]);
  });

  it('takes quantiles by nearest rank', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 0.95)).toBe(5);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
