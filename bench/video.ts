import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startMinistack } from '../scripts/lib/ministack.ts';
import { s3RangeReader } from '../shared/adapters/s3-range-reader.ts';
import { uploadKey } from '../shared/domain/keys.ts';
import { DEFAULT_VIDEO_LIMITS } from '../shared/domain/video.ts';
import type { VideoExecutionState } from '../shared/domain/video-workflow.ts';
import { probeMedia } from '../shared/processing/video/probe.ts';
import { probeStep } from '../shared/processing/video/probe-step.ts';
import { localTranscodeArgs } from '../shared/processing/video/transcode-local.ts';
import { deployEmulatorFunction } from '../test/support/emulator-functions.ts';
import { freePort } from '../test/support/ports.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench', '.out', 'video');
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const GIB = 1024 ** 3;

const seconds = (start: number) => (performance.now() - start) / 1000;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const ffmpeg = (args: string[]) =>
  run('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 1 << 24 });

/**
 * A 1 GiB MP4 whose index (moov) sits at the end, as cameras and most encoders write it: 10 s
 * of 1080p H.264 + AAC at a camera's bit rate, repeated by stream copy.
 */
const makeLargeMp4 = async (path: string): Promise<void> => {
  const clip = join(OUT, 'clip-10s.mp4');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1920x1080:rate=30:duration=10',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=10',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-b:v',
    '20M',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    clip,
  ]);
  const loops = Math.ceil(GIB / statSync(clip).size);
  await ffmpeg(['-stream_loop', String(loops - 1), '-i', clip, '-c', 'copy', path]);
};

/** ffprobe's own count of what it read (`Statistics: N bytes read`, printed at verbose level). */
const ffprobeRun = async (input: string) => {
  const start = performance.now();
  const { stderr } = await run(
    'ffprobe',
    ['-v', 'verbose', '-show_format', '-show_streams', '-of', 'json', input],
    { maxBuffer: 1 << 24 },
  );
  const time = seconds(start);
  const bytes = [...stderr.matchAll(/Statistics: (\d+) bytes read/g)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  return { seconds: time, bytesRead: bytes };
};

const startEmulator = async () => {
  const port = await freePort();
  await mkdir(OUT, { recursive: true });
  const emulator = await startMinistack({
    port,
    logFile: join(OUT, `ministack-${port}.log`),
    dataDir: join(OUT, `ministack-${port}`),
  });
  const s3 = new S3Client({
    endpoint: emulator.endpoint,
    region: REGION,
    credentials,
    forcePathStyle: true,
  });
  const bucket = `syncflow-bench-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  return { emulator, s3, bucket };
};

const upload = async (s3: S3Client, bucket: string, key: string, path: string) => {
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(path),
      ContentLength: statSync(path).size,
    }),
  );
  return put.VersionId;
};

/**
 * `video-probe`: the probe (MediaInfo's WASM over ranged GETs) of a 1 GiB MP4 with its index at
 * the end, from the emulator's S3: bytes read against the object's size (goal ≤ 1 %), and its
 * time against ffprobe on a local copy of the same file (ratio = probe / ffprobe, goal ≤ 2).
 * Also ffprobe over a presigned URL (ranged HTTP), the other way to probe without downloading.
 */
export const benchVideoProbe = async () => {
  const { emulator, s3, bucket } = await startEmulator();
  const path = join(OUT, 'large-moov-at-end.mp4');
  try {
    await makeLargeMp4(path);
    const key = uploadKey('bench', randomUUID(), 'video');
    const versionId = await upload(s3, bucket, key, path);
    const ref = { bucket, key, ...(versionId && { versionId }) };
    // The first probe compiles MediaInfo's WASM: a function's cold start pays it once.
    const coldStart = performance.now();
    const cold = await probeMedia(await s3RangeReader(s3, ref));
    const coldSeconds = seconds(coldStart);
    const probeTimes: number[] = [];
    const ffprobeTimes: number[] = [];
    let warm = cold;
    for (let i = 0; i < 5; i += 1) {
      const start = performance.now();
      warm = await probeMedia(await s3RangeReader(s3, ref));
      probeTimes.push(seconds(start));
      ffprobeTimes.push((await ffprobeRun(path)).seconds);
    }
    // The alternative measured: ffprobe reading the object by ranges over a presigned URL.
    const presigner = new S3Client({
      endpoint: emulator.endpoint,
      region: REGION,
      credentials,
      forcePathStyle: true,
      // Without these the SDK signs a checksum parameter into the URL, which the emulator's S3
      // answers with bytes ffprobe cannot read.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const url = await getSignedUrl(
      presigner,
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(versionId && { VersionId: versionId }),
      }),
      { expiresIn: 600 },
    );
    // Only an alternative's figure: its failure is reported, not fatal to the benchmark.
    const overHttp = await ffprobeRun(url).catch((error: Error) => ({
      seconds: null,
      bytesRead: null,
      error: error.message.split('\n').at(-2) ?? error.message,
    }));
    const objectBytes = statSync(path).size;
    const finding = warm.finding;
    return {
      name: 'video-probe',
      object_bytes: objectBytes,
      bytes_read: warm.bytesRead,
      read_share: warm.bytesRead / objectBytes,
      requests: warm.requests,
      probe_seconds: median(probeTimes),
      probe_cold_seconds: coldSeconds,
      ffprobe_local_seconds: median(ffprobeTimes),
      ratio: median(probeTimes) / median(ffprobeTimes),
      ffprobe_presigned_seconds: overHttp.seconds,
      ffprobe_presigned_bytes_read: overHttp.bytesRead,
      ...('error' in overHttp && { ffprobe_presigned_error: overHttp.error }),
      duration_seconds: finding.kind === 'media' ? finding.media.durationSeconds : null,
      found: finding.kind,
    };
  } finally {
    await emulator.stop();
    await rm(path, { force: true });
  }
};

/**
 * `video-transcode-local`: the local stage's transcode task (the function, invoked in the
 * emulator: it copies the original out of S3, runs ffmpeg, uploads the rendition and frames,
 * reports progress) against ffmpeg run directly with the same arguments on the same file.
 * ratio = task / direct (goal ≤ 1.1: the orchestration's own cost).
 */
export const benchVideoTranscodeLocal = async () => {
  const { emulator, s3, bucket } = await startEmulator();
  const lambda = new LambdaClient({ endpoint: emulator.endpoint, region: REGION, credentials });
  const source = join(OUT, 'clip-30s.mp4');
  try {
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1920x1080:rate=30:duration=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=30',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-b:v',
      '12M',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      source,
    ]);
    const fileId = randomUUID();
    const key = uploadKey('bench', fileId, 'video');
    const versionId = await upload(s3, bucket, key, source);
    const job = {
      fileId,
      ownerId: 'bench',
      bucket,
      key,
      ...(versionId && { versionId }),
      objectVersion: versionId ?? 'v',
      size: statSync(source).size,
      contentType: 'video/mp4',
      sha256: null,
    };
    const probe = await probeStep(
      {
        open: async (j) => s3RangeReader(s3, { bucket: j.bucket, key: j.key }),
        limits: DEFAULT_VIDEO_LIMITS,
      },
      job,
    );
    if (probe.outcome !== 'VIDEO') throw new Error(`The bench clip probed as ${probe.outcome}`);
    const name = `bench-transcode-${randomUUID().slice(0, 8)}`;
    await deployEmulatorFunction(lambda, join(OUT, 'functions'), {
      entry: 'video-transcode-local',
      name,
      timeoutSeconds: 900,
      environment: {
        AWS_ENDPOINT_URL: emulator.endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'WARN',
      },
    });
    const state: VideoExecutionState = { job, probe };
    const task: number[] = [];
    const direct: number[] = [];
    const outDir = join(OUT, 'direct');
    for (let i = 0; i < 3; i += 1) {
      // Alternate, so a slow spell of the machine falls on both.
      const startTask = performance.now();
      const invoked = await lambda.send(
        new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(state)) }),
      );
      if (invoked.FunctionError) {
        throw new Error(
          `The transcode task failed: ${Buffer.from(invoked.Payload ?? []).toString()}`,
        );
      }
      task.push(seconds(startTask));
      await rm(outDir, { recursive: true, force: true });
      await mkdir(join(outDir, 'frames'), { recursive: true });
      const startDirect = performance.now();
      await run('ffmpeg', [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        ...localTranscodeArgs(source, outDir, probe.plan),
      ]);
      direct.push(seconds(startDirect));
    }
    return {
      name: 'video-transcode-local',
      source_seconds: probe.media.durationSeconds,
      source_bytes: job.size,
      rendition: `${probe.plan.width}x${probe.plan.height}`,
      task_seconds: median(task),
      ffmpeg_direct_seconds: median(direct),
      ratio: median(task) / median(direct),
      task_runs: task,
      direct_runs: direct,
    };
  } finally {
    await emulator.stop();
  }
};
