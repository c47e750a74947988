import { describe, expect, it } from 'vitest';
import {
  type ColumnType,
  decideType,
  newEvidence,
  observe,
  sqlColumnNames,
} from '#shared/processing/tabular/column-types.ts';
import { evolveSchema, widen } from '#shared/processing/tabular/evolve-schema.ts';

const typeOf = (...values: string[]): ColumnType => {
  const e = newEvidence();
  for (const v of values) observe(e, v);
  return decideType(e);
};

describe('column type inference', () => {
  it.each([
    [['1', '-20', '0'], { kind: 'integer' }],
    [['1', '2.50', '-0.125'], { kind: 'decimal', precision: 4, scale: 3 }],
    [['1', '0.1234567'], { kind: 'double' }],
    [['1', '1e3'], { kind: 'double' }],
    [['12345678901234567890'], { kind: 'decimal', precision: 20, scale: 0 }],
    [['true', 'False', 'TRUE'], { kind: 'boolean' }],
    [['2024-02-29', '2023-12-31'], { kind: 'date' }],
    [['2024-01-01', '2024-01-01 10:00'], { kind: 'timestamp', withZone: false }],
    [
      ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00.5+05:30'],
      { kind: 'timestamp', withZone: true },
    ],
  ] as const)('%j is %j', (values, expected) => {
    expect(typeOf(...values)).toEqual(expected);
  });

  it.each([
    ['codes with leading zeros', ['007', '12']],
    ['a number beside a word', ['12', 'n/a']],
    ['a number beside a boolean', ['1', 'true']],
    ['an impossible date', ['2023-02-29']],
    ['zoned and unzoned timestamps', ['2024-01-01T10:00:00Z', '2024-01-01 10:00']],
    ['a zone without seconds', ['2024-01-01T10:00Z']],
    ['nanoseconds', ['2024-01-01T10:00:00.123456789']],
    ['a trailing dot', ['1.']],
  ])('%s make a string column', (_, values) => {
    expect(typeOf(...values)).toEqual({ kind: 'string' });
  });

  it('makes names Glue accepts, unique and stable', () => {
    expect(sqlColumnNames(['Order ID', 'Çity', '2nd', '', 'order_id', 'a-b'])).toEqual([
      'order_id',
      'city',
      'c_2nd',
      'column_4',
      'order_id_2',
      'a_b',
    ]);
  });
});

describe('schema evolution', () => {
  it('widens only where every value survives', () => {
    expect(widen({ kind: 'integer' }, { kind: 'double' })).toEqual({ kind: 'double' });
    expect(
      widen(
        { kind: 'decimal', precision: 6, scale: 2 },
        { kind: 'decimal', precision: 5, scale: 4 },
      ),
    ).toEqual({ kind: 'decimal', precision: 8, scale: 4 });
    expect(widen({ kind: 'integer' }, { kind: 'decimal', precision: 6, scale: 2 })).toEqual({
      kind: 'decimal',
      precision: 21,
      scale: 2,
    });
    expect(widen({ kind: 'date' }, { kind: 'timestamp', withZone: false })).toEqual({
      kind: 'timestamp',
      withZone: false,
    });
    expect(widen({ kind: 'decimal', precision: 6, scale: 2 }, { kind: 'double' })).toBeUndefined();
    expect(widen({ kind: 'integer' }, { kind: 'string' })).toBeUndefined();
    expect(widen({ kind: 'date' }, { kind: 'timestamp', withZone: true })).toBeUndefined();
  });

  it('adds columns at the end and names every column it refuses', () => {
    const current = [
      { sqlName: 'id', type: { kind: 'integer' } },
      { sqlName: 'ok', type: { kind: 'boolean' } },
      { sqlName: 'at', type: { kind: 'date' } },
    ] as const;
    expect(
      evolveSchema(current, [
        { sqlName: 'new', type: { kind: 'string' } },
        { sqlName: 'id', type: { kind: 'integer' } },
      ]),
    ).toEqual({
      ok: true,
      changed: true,
      added: ['new'],
      widened: [],
      schema: [...current, { sqlName: 'new', type: { kind: 'string' } }],
    });
    expect(
      evolveSchema(current, [
        { sqlName: 'ok', type: { kind: 'integer' } },
        { sqlName: 'at', type: { kind: 'timestamp', withZone: true } },
      ]),
    ).toEqual({
      ok: false,
      reason:
        'The file does not fit its dataset: column "ok" is integer in this file but boolean in the dataset; column "at" is timestamp with time zone in this file but date in the dataset.',
    });
  });
});
