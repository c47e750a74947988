import { decideType, newEvidence, observe } from './column-types.ts';
import { CsvRecordReader, plainFields } from './csv-records.ts';

export type TabularFormat = 'csv' | 'ndjson' | 'json-array';

/** How a tabular file is written. `delimiter` and `header` apply to CSV only. */
export interface Dialect {
  readonly format: TabularFormat;
  readonly delimiter: string;
  readonly header: boolean;
}

const DELIMITERS = [',', '\t', ';', '|'];
const SAMPLE_RECORDS = 500;

const sampleRecords = (sample: string, complete: boolean, delimiter: string) => {
  const records: (string | null)[][] = [];
  const reader = new CsvRecordReader(
    { delimiter, maxRecordChars: sample.length + 1 },
    {
      plain: (text, _from, _to, starts, ends, count, _line, quoted) => {
        if (records.length <= SAMPLE_RECORDS)
          records.push(plainFields(text, starts, ends, count, quoted));
      },
      quoted: (fields) => {
        if (records.length <= SAMPLE_RECORDS) records.push(fields);
      },
      malformed: () => {},
    },
  );
  reader.push(sample);
  if (complete) reader.end();
  return records;
};

/**
 * The delimiter that splits the sampled records into the same number of fields most often (more
 * than one field preferred), in the order comma, tab, semicolon, pipe on a tie.
 */
const chooseDelimiter = (sample: string, complete: boolean): string => {
  let best = { delimiter: ',', score: -1 };
  for (const delimiter of DELIMITERS) {
    const records = sampleRecords(sample, complete, delimiter).slice(0, SAMPLE_RECORDS);
    if (records.length === 0) continue;
    const counts = new Map<number, number>();
    for (const r of records) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
    let mode = 1;
    let modeCount = 0;
    for (const [width, count] of counts) {
      if (count > modeCount || (count === modeCount && width > mode)) {
        mode = width;
        modeCount = count;
      }
    }
    if (mode < 2) continue;
    const consistency = modeCount / records.length;
    const score = consistency * 1000 + Math.min(mode, 999);
    if (consistency >= 0.5 && score > best.score) best = { delimiter, score };
  }
  return best.delimiter;
};

/**
 * A first row is a header when its values are all distinct non-empty text that is not a number,
 * date or boolean, and the rows below either have a typed column the header's text does not fit,
 * or do not repeat the header's values.
 */
const hasHeader = (records: (string | null)[][]): boolean => {
  const [first, ...rest] = records;
  if (first === undefined) return false;
  const names = new Set<string>();
  for (const value of first) {
    if (value === null || value.trim() === '') return false;
    const e = newEvidence();
    observe(e, value);
    if (decideType(e).kind !== 'string') return false;
    names.add(value);
  }
  if (names.size !== first.length) return false;
  if (rest.length === 0) return true;
  for (let c = 0; c < first.length; c++) {
    const e = newEvidence();
    for (const row of rest) {
      const v = row[c];
      if (v !== null && v !== undefined) observe(e, v);
    }
    if (e.values > 0 && decideType(e).kind !== 'string') return true;
  }
  return rest.every((row) => row.every((v, c) => v === null || v !== first[c]));
};

/**
 * Tells the format from the start of the decoded text: a `[` opens a JSON array, a `{` a file of
 * JSON lines, anything else is delimited text whose delimiter and header row are detected from
 * the first records. Given parts of `override` win over detection.
 */
export const detectDialect = (
  sample: string,
  complete: boolean,
  override: Partial<Dialect> = {},
): Dialect => {
  const start = sample.trimStart();
  const detectedFormat: TabularFormat = start.startsWith('[')
    ? 'json-array'
    : start.startsWith('{')
      ? 'ndjson'
      : 'csv';
  const format = override.format ?? detectedFormat;
  if (format !== 'csv') return { format, delimiter: ',', header: false };
  const delimiter = override.delimiter ?? chooseDelimiter(sample, complete);
  const header =
    override.header ??
    hasHeader(sampleRecords(sample, complete, delimiter).slice(0, SAMPLE_RECORDS));
  return { format, delimiter, header };
};
