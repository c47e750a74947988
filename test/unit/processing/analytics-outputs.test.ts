import { describe, expect, it } from 'vitest';
import {
  boundLogText,
  boundTabularSummary,
  MAX_SUMMARY_CHARS,
} from '#shared/processing/analytics-outputs.ts';

const wideTable = (columns: number) => {
  const names = Array.from({ length: columns }, (_, i) => `column_${i}`);
  return {
    rowCount: 20,
    columns: names.map((name) => ({ name, sqlName: name, type: 'string', min: 'a', max: 'z' })),
    preview: {
      columns: names,
      rows: Array.from({ length: 20 }, () => names.map(() => 'x'.repeat(200))),
    },
  };
};

describe('summaries kept on a record', () => {
  it('leaves a small summary as it is', () => {
    const small = wideTable(3);
    expect(boundTabularSummary(small)).toBe(small);
  });

  it('keeps a table of 1,000 columns under the record limit, saying it was cut', () => {
    const bounded = boundTabularSummary(wideTable(1000));
    expect(JSON.stringify(bounded).length).toBeLessThanOrEqual(MAX_SUMMARY_CHARS);
    expect(bounded.truncated).toBe(true);
    expect(bounded.rowCount).toBe(20);
    expect(bounded.preview.rows.length).toBeGreaterThanOrEqual(1);
    expect(bounded.columns[0]).toMatchObject({ name: 'column_0' });
  });

  it('cuts long unparsed lines and templates of a log to 500 characters', () => {
    const bounded = boundLogText({
      lines: 1,
      unparsedExamples: [{ line: 1, text: 'y'.repeat(64 * 1024) }],
      topTemplates: [{ template: 'z'.repeat(10_000), count: 3 }],
    });
    expect(bounded.unparsedExamples[0]?.text).toHaveLength(500);
    expect(bounded.topTemplates[0]).toMatchObject({ count: 3 });
    expect(bounded.topTemplates[0]?.template).toHaveLength(500);
  });
});
