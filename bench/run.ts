import { benchBundles } from './bundle.ts';
import { benchCliBulk } from './cli-bulk.ts';
import { benchConsoleBundle } from './console-bundle.ts';
import { benchDuckdbInit, benchEtlCsv, benchLogs } from './etl.ts';
import { benchListScale } from './list-scale.ts';
import { benchParquetWriters } from './parquet-writers.ts';
import { benchPipelineJpeg } from './pipeline-jpeg.ts';
import { benchStream } from './stream.ts';
import { benchUploadMultipart } from './upload-multipart.ts';
import { benchUploadRequest } from './upload-request.ts';
import { benchVideoProbe, benchVideoTranscodeLocal } from './video.ts';

/** `npm run bench [-- name...]`: one JSON object per line on stdout. */
const all: Record<string, () => Promise<unknown> | unknown> = {
  'pipeline-jpeg-12mp': () => benchPipelineJpeg(),
  'stream-1gib': () => benchStream(),
  bundle: () => benchBundles(),
  'list-scale': () => benchListScale(),
  'etl-csv-1gib': () => benchEtlCsv(),
  'logs-1gib': () => benchLogs(),
  'duckdb-in-function': () => benchDuckdbInit(),
  'parquet-writers': () => benchParquetWriters(),
  'console-bundle': () => benchConsoleBundle(),
  'upload-multipart-1gib': () => benchUploadMultipart(),
  'cli-bulk': () => benchCliBulk(),
  'upload-request': () => benchUploadRequest(),
  'video-probe': () => benchVideoProbe(),
  'video-transcode-local': () => benchVideoTranscodeLocal(),
};
const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(all)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const result = await run();
  for (const line of Array.isArray(result) ? result : [result]) console.log(JSON.stringify(line));
}
