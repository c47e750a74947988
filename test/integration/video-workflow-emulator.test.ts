import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  LambdaClient,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '#shared/adapters/db/connect.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { FileRepository } from '#shared/adapters/file-repository.ts';
import { s3RangeReader } from '#shared/adapters/s3-range-reader.ts';
import { startVideoWorkflow } from '#shared/adapters/video-workflow-starter.ts';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { uploadKey } from '#shared/domain/keys.ts';
import { objectVersionOf } from '#shared/domain/object-ref.ts';
import type { VideoJob } from '#shared/domain/video-workflow.ts';
import { probeMedia } from '#shared/processing/video/probe.ts';
import { MEDIAINFO_WASM_ASSET } from '../../infra/bundling.ts';
import { createTestDatabase } from '../support/databases.ts';
import { deployEmulatorFunction } from '../support/emulator-functions.ts';
import {
  createPipelineResources,
  type EmulatorClients,
  emulatorClients,
  type PipelineResources,
  REGION,
  receive,
} from '../support/emulator-resources.ts';
import { ffprobe, makeTestMedia, type TestMedia, topLevelBoxes } from '../support/media.ts';
import { renderVideoDefinition, type VideoFunctionArns } from '../support/video-definition.ts';

const OWNER = 'video-owner';
const endpoint = inject('emulatorEndpoint');
const clients: EmulatorClients = emulatorClients(endpoint);
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sfn = new SFNClient({ endpoint, region: REGION, credentials });
const lambda = new LambdaClient({ endpoint, region: REGION, credentials });
const workDir = join(tmpdir(), `syncflow-video-it-${process.pid}`);
const id = randomUUID().slice(0, 8);
const names = {
  probe: `video-probe-${id}`,
  transcode: `video-transcode-${id}`,
  poster: `video-poster-${id}`,
  record: `video-record-${id}`,
  publish: `video-publish-${id}`,
  fail: `video-fail-${id}`,
  progress: `video-progress-${id}`,
};

let media: TestMedia;
let resources: PipelineResources;
let handle: DatabaseHandle;
let repository: FileRepository;
let stateMachineArn: string;
let progressQueueUrl: string;
let transcodeEnvironment: Record<string, string>;

const queueArnOf = async (url: string) =>
  (
    await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn ?? '';

/** Uploads a file and claims it as the video kind's processor will, then starts its execution. */
const startVideo = async (path: string, contentType: string) => {
  const fileId = randomUUID();
  const key = uploadKey(OWNER, fileId, 'video');
  const body = await readFile(path);
  await repository.createPending({
    fileId,
    ownerId: OWNER,
    filename: path.split('/').pop() ?? 'video',
    contentType,
    size: body.length,
    checksumSha256: null,
    bucket: resources.bucket,
    key,
    uploadExpiresAt: new Date(Date.now() + 900_000),
  });
  const put = await clients.s3.send(
    new PutObjectCommand({
      Bucket: resources.bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
    }),
  );
  const ref = { bucket: resources.bucket, key, ...(put.VersionId && { versionId: put.VersionId }) };
  const objectVersion = objectVersionOf(ref);
  await repository.startProcessing(fileId, {
    objectVersion,
    versionId: put.VersionId ?? null,
    attempts: 1,
    deadline: new Date(Date.now() + 20 * 60_000),
  });
  const job: VideoJob = {
    fileId,
    ownerId: OWNER,
    bucket: resources.bucket,
    key,
    ...(put.VersionId && { versionId: put.VersionId }),
    objectVersion,
    size: body.length,
    contentType,
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  const start = await startVideoWorkflow(sfn, stateMachineArn, job);
  expect(start.started).toBe(true);
  return { job, executionArn: start.executionArn };
};

/** Polls the execution until it ends; returns its status and the states it entered. */
const finished = async (executionArn: string, timeoutMs = 150_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') {
      const history = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
      );
      const entered = (history.events ?? [])
        .map((e) => e.stateEnteredEventDetails?.name)
        .filter((n): n is string => n !== undefined);
      // What a failed task said, so a failing assertion shows why.
      const failures = (history.events ?? [])
        .map((e) => e.taskFailedEventDetails ?? e.lambdaFunctionFailedEventDetails)
        .filter((d) => d !== undefined)
        .map((d) => `${d.error}: ${d.cause?.slice(0, 600)}`);
      return { status: execution.status, entered, failures };
    }
    if (Date.now() > deadline) throw new Error(`${executionArn} still running`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};

const recordOf = async (fileId: string): Promise<FileRecord> => {
  const file = await repository.get(fileId);
  if (!file) throw new Error(`No record for ${fileId}`);
  return file;
};

const download = async (key: string, versionId?: string): Promise<Buffer> => {
  const object = await clients.s3.send(
    new GetObjectCommand({
      Bucket: resources.bucket,
      Key: key,
      ...(versionId && { VersionId: versionId }),
    }),
  );
  return Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()));
};

/** Every `file.*` event the bus delivered so far, whichever file it names. */
const delivered: { type: string; fileId: string }[] = [];

/**
 * The outcome events of one file, in order: waits until one arrived, then a little longer for a
 * repeat that must not come. Events of other files are kept for their own tests.
 */
const outcomes = async (fileId: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  let settleUntil = Number.POSITIVE_INFINITY;
  while (Date.now() < Math.min(deadline, settleUntil)) {
    for (const message of await receive(clients.sqs, resources.captureQueueUrl, 10, 1000)) {
      const event = JSON.parse(message.Body ?? '{}') as {
        'detail-type': string;
        detail: { fileId: string };
      };
      delivered.push({ type: event['detail-type'], fileId: event.detail.fileId });
      await clients.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: resources.captureQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }
    if (settleUntil === Number.POSITIVE_INFINITY && delivered.some((e) => e.fileId === fileId)) {
      settleUntil = Date.now() + 1500;
    }
  }
  return delivered.filter((e) => e.fileId === fileId).map((e) => e.type);
};

describe('the video workflow on the emulator’s Step Functions, with ffmpeg and PostgreSQL', () => {
  beforeAll(async () => {
    await mkdir(workDir, { recursive: true });
    media = await makeTestMedia(join(workDir, 'media'));
    resources = await createPipelineResources(clients);
    const database = await createTestDatabase();
    handle = await openDatabase({ driver: 'pg', connectionString: database.url });
    await migrate(handle.db);
    repository = new FileRepository(handle.db);

    const common = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    };
    const withDatabase = {
      ...common,
      DATABASE_URL: database.url,
      EVENT_BUS_NAME: resources.busName,
    };
    transcodeEnvironment = { ...common, VIDEO_PROGRESS_INTERVAL_MS: '200' };
    const deploy = (entry: string, name: string, environment: Record<string, string>, extra = {}) =>
      deployEmulatorFunction(lambda, workDir, { entry, name, environment, ...extra });
    const arns: VideoFunctionArns & { progress: string } = {
      probe: await deploy('video-probe', names.probe, common, { assets: [MEDIAINFO_WASM_ASSET] }),
      transcode: await deploy('video-transcode-local', names.transcode, transcodeEnvironment, {
        timeoutSeconds: 300,
      }),
      poster: await deploy('video-poster', names.poster, common, { withSharp: true }),
      record: await deploy('video-record', names.record, withDatabase),
      publish: await deploy('video-publish', names.publish, withDatabase),
      fail: await deploy('video-fail', names.fail, withDatabase),
      progress: await deploy('video-progress', names.progress, withDatabase),
    };

    // As the construct's rule: the local transcoder's reports to the progress function.
    await clients.eventBridge.send(
      new PutRuleCommand({
        Name: `video-progress-${id}`,
        EventPattern: JSON.stringify({
          source: ['syncflow.video'],
          'detail-type': ['Transcode Progress'],
        }),
      }),
    );
    await clients.eventBridge.send(
      new PutTargetsCommand({
        Rule: `video-progress-${id}`,
        Targets: [{ Id: 'progress', Arn: arns.progress }],
      }),
    );
    // What the owner's socket would be sent: file.progress on the custom bus.
    const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: `progress-${id}` }));
    progressQueueUrl = queue.QueueUrl ?? '';
    await clients.eventBridge.send(
      new PutRuleCommand({
        Name: `file-progress-${id}`,
        EventBusName: resources.busName,
        EventPattern: JSON.stringify({
          source: ['syncflow.files'],
          'detail-type': ['file.progress'],
        }),
      }),
    );
    await clients.eventBridge.send(
      new PutTargetsCommand({
        Rule: `file-progress-${id}`,
        EventBusName: resources.busName,
        Targets: [{ Id: 'capture', Arn: await queueArnOf(progressQueueUrl) }],
      }),
    );

    const definition = renderVideoDefinition(arns, 'local');
    await writeFile(join(workDir, 'definition.json'), JSON.stringify(definition, null, 2));
    const machine = await sfn.send(
      new CreateStateMachineCommand({
        name: `video-${id}`,
        type: 'STANDARD',
        roleArn: 'arn:aws:iam::000000000000:role/syncflow-video',
        definition: JSON.stringify(definition),
      }),
    );
    stateMachineArn = machine.stateMachineArn ?? '';
  }, 300_000);

  afterAll(async () => {
    await handle?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('ends a 1080p H.264 video PROCESSED: probe metadata, a poster that is not black, a 720p fast-start MP4, progress on the way', async () => {
    const { job, executionArn } = await startVideo(media.h264_1080p, 'video/mp4');
    const run = await finished(executionArn);
    expect(run.status, run.failures.join('\n')).toBe('SUCCEEDED');
    expect(run.entered).toEqual([
      'Probe',
      'IsVideo',
      'Transcode',
      'Poster',
      'Record',
      'Publish',
      'Done',
    ]);

    const file = await recordOf(job.fileId);
    expect(file.status).toBe('PROCESSED');
    expect(file.reason).toBeNull();
    expect(file.metadata.media).toMatchObject({
      container: 'MPEG-4',
      video: { codec: 'AVC', width: 1920, height: 1080, frameRate: 30 },
      audio: { codec: 'AAC' },
    });
    expect(file.derivatives.map((d) => [d.name, d.width, d.height])).toEqual([
      ['thumbnail.webp', 256, 144],
      ['preview.jpg', 1024, 576],
      ['web.mp4', 1280, 720],
    ]);
    expect(await repository.progressOf(job.fileId)).toBeNull();

    const rendition = file.derivatives.find((d) => d.name === 'web.mp4');
    const path = join(workDir, `${job.fileId}.mp4`);
    await writeFile(path, await download(rendition?.key ?? '', rendition?.versionId));
    const probed = await ffprobe(path);
    expect(probed.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([
      ['video', 'h264'],
      ['audio', 'aac'],
    ]);
    expect(probed.streams[0]).toMatchObject({ width: 1280, height: 720, profile: 'High' });
    const boxes = await topLevelBoxes(path);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

    // The video fades in from black: the poster is a later frame.
    const preview = file.derivatives.find((d) => d.name === 'preview.jpg');
    const stats = await sharp(await download(preview?.key ?? '', preview?.versionId)).stats();
    expect(stats.channels[0]?.mean).toBeGreaterThan(24);
    // The captures were only a means: gone once the poster is made.
    const frames = await clients.s3.send(
      new ListObjectVersionsCommand({
        Bucket: resources.bucket,
        Prefix: `derived/${OWNER}/${job.fileId}/frames/`,
      }),
    );
    expect(frames.Versions ?? []).toEqual([]);

    expect(await outcomes(job.fileId)).toEqual(['file.processed']);
    const progress = (await receive(clients.sqs, progressQueueUrl, 10, 3000))
      .map((m) => JSON.parse(m.Body ?? '{}') as { detail: { fileId: string; progress: number } })
      .filter((e) => e.detail.fileId === job.fileId)
      .map((e) => e.detail.progress);
    expect(progress.length).toBeGreaterThan(0);
    for (const percent of progress) expect(percent).toBeGreaterThanOrEqual(0);
    for (const percent of progress) expect(percent).toBeLessThan(100);
  });

  it('probes by byte ranges from S3: a fraction of the object, the checked version’s bytes', async () => {
    const key = uploadKey(OWNER, randomUUID(), 'video');
    const body = await readFile(media.h264_1080p);
    const first = await clients.s3.send(
      new PutObjectCommand({ Bucket: resources.bucket, Key: key, Body: body }),
    );
    const reader = await s3RangeReader(clients.s3, {
      bucket: resources.bucket,
      key,
      ...(first.VersionId && { versionId: first.VersionId }),
    });
    const { finding, bytesRead } = await probeMedia(reader, { slackBytes: 64 * 1024 });
    expect(finding).toMatchObject({ kind: 'media', media: { video: { width: 1920 } } });
    // Ranges of the current object pinned by ETag: never the whole object.
    expect(bytesRead).toBeLessThan(body.length);
    const again = await reader.read(1000, 100);
    expect(Buffer.from(again)).toEqual(body.subarray(1000, 1100));
    // Other bytes under the key: the ETag no longer matches (412), and the reader reads the
    // checked version by its id, never the new bytes.
    await clients.s3.send(
      new PutObjectCommand({ Bucket: resources.bucket, Key: key, Body: Buffer.from('other') }),
    );
    expect(Buffer.from(await reader.read(0, 100))).toEqual(body.subarray(0, 100));
  });

  it('cannot run a version twice: the same execution name is refused', async () => {
    const { job, executionArn } = await startVideo(media.mp3, 'audio/mpeg');
    const again = await startVideoWorkflow(sfn, stateMachineArn, job);
    expect(again).toEqual({ started: false, executionArn });
    await finished(executionArn);
    const afterwards = await startVideoWorkflow(sfn, stateMachineArn, job);
    expect(afterwards.started).toBe(false);
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(listed.executions?.filter((e) => e.executionArn === executionArn)).toHaveLength(1);
    expect(await outcomes(job.fileId)).toEqual(['file.processed']);
  });

  it('turns a portrait phone video upright and transcodes VP9 WebM to H.264', async () => {
    const portrait = await startVideo(media.portrait, 'video/mp4');
    const webm = await startVideo(media.vp9, 'video/webm');
    expect((await finished(portrait.executionArn)).status).toBe('SUCCEEDED');
    expect((await finished(webm.executionArn)).status).toBe('SUCCEEDED');
    const upright = await recordOf(portrait.job.fileId);
    expect(upright.derivatives.map((d) => [d.name, d.width, d.height])).toEqual([
      ['thumbnail.webp', 144, 256],
      ['preview.jpg', 576, 1024],
      ['web.mp4', 720, 1280],
    ]);
    const file = await recordOf(webm.job.fileId);
    expect(file.metadata.media?.video?.codec).toBe('VP9');
    const rendition = file.derivatives.find((d) => d.name === 'web.mp4');
    const path = join(workDir, `${webm.job.fileId}.mp4`);
    await writeFile(path, await download(rendition?.key ?? '', rendition?.versionId));
    expect((await ffprobe(path)).streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
  });

  it('keeps audio with its metadata and no poster, and ends hostile media with its reason', async () => {
    const cases = [
      { path: media.mp3, type: 'audio/mpeg', status: 'PROCESSED', reason: null },
      {
        path: media.truncated,
        type: 'video/mp4',
        status: 'FAILED',
        reason: 'The MPEG-4 file is cut short: it ends before the data it announces.',
      },
      {
        path: media.jpegAsMp4,
        type: 'video/mp4',
        status: 'REJECTED',
        reason: 'The file is a JPEG image, not video or audio.',
      },
      {
        path: media.oddRotation,
        type: 'video/mp4',
        status: 'REJECTED',
        reason: expect.stringMatching(/only quarter turns/),
      },
    ];
    const started = [];
    for (const c of cases) started.push({ ...c, ...(await startVideo(c.path, c.type)) });
    for (const c of started) {
      const run = await finished(c.executionArn);
      // The user's file, not our failure: the execution succeeds and names no transcode.
      expect(run.status, c.path).toBe('SUCCEEDED');
      expect(run.entered, c.path).toEqual(['Probe', 'IsVideo', 'Record', 'Publish', 'Done']);
      const file = await recordOf(c.job.fileId);
      expect(file.status, c.path).toBe(c.status);
      expect(file.reason, c.path).toEqual(c.reason);
      expect(file.derivatives, c.path).toEqual([]);
    }
    const audio = await recordOf(started[0]?.job.fileId ?? '');
    expect(audio.metadata.media).toMatchObject({
      container: 'MPEG Audio',
      audio: { codec: 'MPEG Audio', sampleRate: 44100 },
    });
    expect(audio.metadata.media?.video).toBeUndefined();
  });

  it('without ffmpeg, fails the video with a reason that says how to install it', async () => {
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: names.transcode,
        Environment: { Variables: { ...transcodeEnvironment, FFMPEG_PATH: '/nonexistent/ffmpeg' } },
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 30 },
      { FunctionName: names.transcode },
    );
    try {
      const { job, executionArn } = await startVideo(media.vp9, 'video/webm');
      const run = await finished(executionArn);
      expect(run.status).toBe('FAILED');
      expect(run.entered).toEqual(['Probe', 'IsVideo', 'Transcode', 'RecordFailure', 'Failed']);
      const file = await recordOf(job.fileId);
      expect(file.status).toBe('FAILED');
      expect(file.reason).toMatch(/ffmpeg was not found.*apt-get install ffmpeg/);
      expect(file.metadata.media?.video?.codec).toBe('VP9');
      expect(await outcomes(job.fileId)).toEqual(['file.failed']);
    } finally {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: names.transcode,
          Environment: { Variables: transcodeEnvironment },
        }),
      );
    }
  });
});
