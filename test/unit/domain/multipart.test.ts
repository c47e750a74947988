import { describe, expect, it } from 'vitest';
import {
  checkMultipartSettings,
  expectedPartSize,
  parsePartNumbers,
  partProblems,
  planParts,
  S3_MAX_PARTS,
  S3_MIN_PART_BYTES,
  usesMultipart,
} from '#shared/domain/multipart.ts';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

describe('planParts', () => {
  it('uses the minimum part size while 10,000 parts hold the file', () => {
    expect(planParts(100 * MIB, 8 * MIB)).toEqual({ partSize: 8 * MIB, partCount: 13 });
    expect(planParts(16 * MIB, 8 * MIB)).toEqual({ partSize: 8 * MIB, partCount: 2 });
  });

  it('grows parts in whole MiB so that 50 GiB fits in at most 10,000 parts', () => {
    const plan = planParts(50 * GIB, 5 * MIB);
    expect(plan.partSize % MIB).toBe(0);
    expect(plan.partCount).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(plan.partSize * plan.partCount).toBeGreaterThanOrEqual(50 * GIB);
    expect(plan.partSize * (plan.partCount - 1)).toBeLessThan(50 * GIB);
  });

  it('never plans a part under S3 floor of 5 MiB', () => {
    expect(planParts(12 * MIB, 1 * MIB).partSize).toBe(S3_MIN_PART_BYTES);
  });

  it('gives the last part the rest', () => {
    const plan = planParts(12 * MIB + 7, 5 * MIB);
    expect(plan.partCount).toBe(3);
    expect(expectedPartSize(plan, 12 * MIB + 7, 1)).toBe(5 * MIB);
    expect(expectedPartSize(plan, 12 * MIB + 7, 3)).toBe(2 * MIB + 7);
  });

  it('chooses multipart at and above the threshold only', () => {
    const settings = { thresholdBytes: 100 * MIB, minPartBytes: 8 * MIB };
    expect(usesMultipart(100 * MIB - 1, settings)).toBe(false);
    expect(usesMultipart(100 * MIB, settings)).toBe(true);
  });

  it('refuses settings S3 would refuse on the first large file', () => {
    expect(() =>
      checkMultipartSettings({ thresholdBytes: 6 * GIB, minPartBytes: 5 * MIB }, GIB),
    ).toThrow(/5 GiB/);
    expect(() => checkMultipartSettings({ thresholdBytes: MIB, minPartBytes: MIB }, GIB)).toThrow(
      /5 MiB/,
    );
    expect(() =>
      checkMultipartSettings({ thresholdBytes: 100 * MIB, minPartBytes: 8 * MIB }, 50 * GIB),
    ).not.toThrow();
  });
});

describe('parsePartNumbers', () => {
  const plan = { partSize: 5 * MIB, partCount: 10 };

  it('sorts a valid batch', () => {
    expect(parsePartNumbers([3, 1, 2], plan)).toEqual([1, 2, 3]);
  });

  it.each([
    [[0], /0 is not a part/],
    [[11], /11 is not a part of this upload \(1 to 10\)/],
    [[-1], /-1/],
    [[1.5], /1.5/],
    [['1'], /"1"/],
    [[1, 1], /1 is repeated/],
    [[], /non-empty/],
    ['1', /non-empty/],
  ])('refuses %j with a 400 that names it', (value, message) => {
    expect(() => parsePartNumbers(value, plan)).toThrow(message);
  });

  it('refuses more than 100 parts in one request', () => {
    const many = Array.from({ length: 101 }, (_, i) => i + 1);
    expect(() => parsePartNumbers(many, { partSize: 5 * MIB, partCount: 200 })).toThrow(
      /at most 100/,
    );
  });
});

describe('partProblems', () => {
  const size = 12 * MIB + 7;
  const plan = planParts(size, 5 * MIB);
  const part = (partNumber: number, bytes = expectedPartSize(plan, size, partNumber)) => ({
    partNumber,
    size: bytes,
    etag: `"e${partNumber}"`,
  });

  it('accepts exactly the planned parts', () => {
    expect(partProblems([part(1), part(2), part(3)], plan, size)).toEqual([]);
  });

  it('names missing parts', () => {
    expect(partProblems([part(1), part(3)], plan, size)).toEqual(['parts missing: 2']);
  });

  it('names parts of another size (a part sent again with other bytes)', () => {
    expect(partProblems([part(1), part(2, 100), part(3)], plan, size)).toEqual([
      `part 2 has 100 bytes, not ${5 * MIB}`,
    ]);
  });
});

describe('the thumbnail the list shows', () => {
  it('is the derivative the processor makes', async () => {
    const { THUMBNAIL } = await import('#shared/processing/image.ts');
    const { THUMBNAIL_NAME } = await import('#shared/domain/derivatives.ts');
    expect(THUMBNAIL_NAME).toBe(THUMBNAIL.name);
  });
});
