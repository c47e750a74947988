import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_CONTENT_TYPES } from '#shared/domain/content-types.ts';
import {
  analyticsDatabase,
  datasetFromFilename,
  datasetTable,
  defaultKind,
  logTable,
  normaliseDatasetName,
} from '#shared/domain/kinds.ts';
import { validateUploadRequest } from '#shared/domain/upload-request.ts';

const limits = {
  maxUploadBytes: 100 * 1024 * 1024,
  allowedContentTypes: DEFAULT_ALLOWED_CONTENT_TYPES,
  uploadUrlTtlSeconds: 900,
};
const SUB_A = '0f8fad5b-d9cb-469f-a165-70867728950e';
const SUB_B = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

describe('kinds of file', () => {
  it('maps types and names to kinds by the documented defaults', () => {
    expect(defaultKind('image/png', 'a.png')).toBe('image');
    expect(defaultKind('text/csv', 'sales')).toBe('tabular');
    expect(defaultKind('application/gzip', 'sales.csv.gz')).toBe('tabular');
    expect(defaultKind('application/x-ndjson', 'rows')).toBe('tabular');
    expect(defaultKind('text/plain', 'access.log')).toBe('logs');
    expect(defaultKind('application/gzip', 'access.log.gz')).toBe('logs');
    // A JSON document is as often a configuration as a table: other unless the request says.
    expect(defaultKind('application/json', 'config.json')).toBe('other');
    expect(defaultKind('application/pdf', 'report.pdf')).toBe('other');
    expect(defaultKind('text/plain', 'notes.txt')).toBe('other');
    // Video and audio by type, or by a media name sent as opaque bytes; the workflow's probe
    // rejects what is not media.
    expect(defaultKind('video/mp4', 'clip')).toBe('video');
    expect(defaultKind('audio/mpeg', 'song.mp3')).toBe('video');
    expect(defaultKind('application/octet-stream', 'clip.MOV')).toBe('video');
    expect(defaultKind('application/octet-stream', 'blob.bin')).toBe('other');
    // A TypeScript source is not an MPEG transport stream.
    expect(defaultKind('text/plain', 'main.ts')).toBe('other');
    expect(defaultKind('application/octet-stream', 'main.ts')).toBe('other');
  });

  it('lets the upload request name the kind, and the dataset of a tabular file', () => {
    const log = validateUploadRequest(
      { filename: 'app.txt', contentType: 'text/plain', size: 10, kind: 'logs' },
      limits,
    );
    expect(log).toMatchObject({ kind: 'logs', dataset: null });
    const table = validateUploadRequest(
      { filename: 'Sales 2024.csv.gz', contentType: 'application/gzip', size: 10 },
      limits,
    );
    expect(table).toMatchObject({ kind: 'tabular', dataset: 'sales_2024' });
    const named = validateUploadRequest(
      { filename: 'x.csv', contentType: 'text/csv', size: 10, dataset: 'Q3-Orders' },
      limits,
    );
    expect(named.dataset).toBe('q3_orders');
  });

  it('refuses an unknown kind, a dataset for a file that is not tabular, and an empty dataset name', () => {
    expect(() =>
      validateUploadRequest(
        { filename: 'a', contentType: 'text/plain', size: 1, kind: 'movie' },
        limits,
      ),
    ).toThrow(/kind: must be one of image, tabular, logs, other, video/);
    expect(() =>
      validateUploadRequest(
        { filename: 'a.png', contentType: 'image/png', size: 1, dataset: 'x' },
        limits,
      ),
    ).toThrow(/only a tabular file joins a dataset, not image/);
    expect(() =>
      validateUploadRequest(
        { filename: 'a.csv', contentType: 'text/csv', size: 1, dataset: '---' },
        limits,
      ),
    ).toThrow(/dataset: must contain a letter or digit/);
  });

  it('makes dataset names valid identifiers starting with a letter', () => {
    expect(normaliseDatasetName('2024 Sales (EU)')).toBe('d_2024_sales_eu');
    expect(normaliseDatasetName('Café Orders')).toBe('cafe_orders');
    expect(normaliseDatasetName('x'.repeat(100))).toHaveLength(64);
    expect(datasetFromFilename('.csv')).toBe('csv');
    expect(datasetFromFilename('___.csv')).toBe('data');
  });

  it('names tables per owner and dataset, as valid Glue identifiers that keep owners apart', () => {
    const a = datasetTable(SUB_A, 'orders');
    const b = datasetTable(SUB_B, 'orders');
    expect(a).toMatch(/^ds_[0-9a-f]{20}_orders$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(SUB_A);
    expect(datasetTable(SUB_A, 'orders')).toBe(a);
    expect(() => datasetTable(SUB_A, 'Orders; DROP')).toThrow(/Invalid dataset/);
    expect(logTable(SUB_A, 'nginx-combined')).toMatch(/^logs_[0-9a-f]{20}_nginx_combined$/);
    expect(analyticsDatabase('prod-rehearsal')).toBe('syncflow_prod_rehearsal');
  });
});
