import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import type { FileWorkflow } from '../../client/src/index.ts';
import { type FileView, uploadFile, waitForFile } from '../support/api-client.ts';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';
import { makeTestMedia, type TestMedia } from '../support/media.ts';

const run = promisify(execFile);
const target = inject('target');
const DIR = join(tmpdir(), `syncflow-e2e-video-${process.pid}`);
/** A transcode on two shared cores, behind a probe and a poster: minutes, not seconds. */
const VIDEO_TIMEOUT_MS = 300_000;

interface Message {
  readonly type: string;
  readonly fileId?: string;
  readonly progress?: number;
  readonly status?: string;
}

/** A WebSocket connection as a browser opens it, keeping what it receives. */
const listen = (token: string): Promise<{ socket: WebSocket; messages: Message[] }> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(`${target.websocketUrl}?token=${encodeURIComponent(token)}`);
    const messages: Message[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('error', reject);
  });

/** What ffprobe says of a file's streams and container. */
const ffprobe = async (path: string) => {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,codec_name,width,height,sample_rate:format=format_name,duration',
    '-of',
    'json',
    path,
  ]);
  return JSON.parse(stdout) as {
    streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
    format: { format_name: string; duration: string };
  };
};

/** Downloads a derivative as a `<video>` element would (a range request) into a local file. */
const fetchRendition = async (file: FileView, path: string) => {
  const rendition = file.derivatives.find((d) => d.name === 'web.mp4');
  if (!rendition) throw new Error(`${file.fileId} has no web.mp4`);
  const response = await fetch(rendition.url, { headers: { Range: 'bytes=0-' } });
  const bytes = Buffer.from(await response.arrayBuffer());
  await writeFile(path, bytes);
  return { response, bytes };
};

/**
 * A presigned GET of a version, asked for a range: S3 answers the range (206) with the
 * `inline` disposition the URL names. MiniStack's S3 ignores both Range and the response
 * overrides on a GET that names a version, and answers the whole object (docs/video.md, "Step
 * Functions on the emulator"): there the whole object is what is checked.
 */
const expectServedInline = (response: Response, objectBytes: number, rangeBytes?: number) => {
  if (target.name === 'local' || target.name === 'localstack') {
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBe(objectBytes);
    return;
  }
  expect(response.status).toBe(206);
  expect(response.headers.get('content-disposition')).toMatch(/^inline/);
  expect(response.headers.get('content-range')).toBe(
    `bytes 0-${(rangeBytes ?? objectBytes) - 1}/${objectBytes}`,
  );
};

const upload = async (user: E2eUser, path: string, name: string, contentType: string) =>
  uploadFile(user.api, name, contentType, await readFile(path));

/**
 * The file's workflow once its execution ended: the record is written by the Record step, one
 * step before the execution's Publish and Done, so it may still run for a moment.
 */
const endedWorkflow = async (user: E2eUser, fileId: string): Promise<FileWorkflow> => {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const workflow = await user.client.api.getFileWorkflow(fileId);
    if (workflow.status !== 'RUNNING') return workflow;
    if (Date.now() > deadline) throw new Error(`The execution of ${fileId} still runs`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};

/** Each step as `name:status`, in the order the execution entered them. */
const stepsOf = (workflow: FileWorkflow) => workflow.steps.map((s) => `${s.name}:${s.status}`);

describe(`video and audio on the ${target.name} stack`, () => {
  let media: TestMedia;
  /** Ten seconds of 1080p: long enough for the transcoder to report progress before it ends. */
  let longVideo: string;
  let alice: E2eUser;
  let bob: E2eUser;
  let removeUsers: () => Promise<void> = async () => {};
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    await mkdir(DIR, { recursive: true });
    longVideo = join(DIR, 'long-1080p.mp4');
    const [made, fresh] = await Promise.all([
      makeTestMedia(DIR),
      freshUsers(target, ['alice', 'bob']),
      run('ffmpeg', [
        '-v',
        'error',
        '-y',
        ...['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=10'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=10'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
        '-shortest',
        longVideo,
      ]),
    ]);
    media = made;
    removeUsers = fresh.remove;
    [alice, bob] = fresh.users as [E2eUser, E2eUser];
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await removeUsers();
    await rm(DIR, { recursive: true, force: true });
  });

  it('ends a video PROCESSED with its probe, poster, thumbnail and a playable MP4, telling only its owner how far it is', {
    timeout: VIDEO_TIMEOUT_MS + 60_000,
  }, async () => {
    const owner = await listen(alice.token);
    const other = await listen(bob.token);
    sockets.push(owner.socket, other.socket);

    const fileId = await upload(alice, longVideo, 'holiday.mp4', 'video/mp4');
    const file = await waitForFile(alice.api, fileId, undefined, VIDEO_TIMEOUT_MS);
    expect(file).toMatchObject({ status: 'PROCESSED', kind: 'video', progress: null });
    expect(file.metadata.media).toMatchObject({
      container: 'MPEG-4',
      video: { codec: 'AVC', displayWidth: 1920, displayHeight: 1080, rotation: 0 },
      audio: { codec: 'AAC' },
    });
    expect(file.metadata.media?.durationSeconds).toBeCloseTo(10, 0);
    const byName = new Map(file.derivatives.map((d) => [d.name, d]));
    expect(byName.get('thumbnail.webp')).toMatchObject({ contentType: 'image/webp', width: 256 });
    expect(byName.get('preview.jpg')).toMatchObject({ contentType: 'image/jpeg', width: 1024 });
    expect(byName.get('web.mp4')).toMatchObject({ contentType: 'video/mp4' });

    // The rendition plays in a browser: served inline as video/mp4, ranges answered, its
    // index first, H.264/AAC at 720 lines.
    const local = join(DIR, `${fileId}.mp4`);
    const { response, bytes } = await fetchRendition(file, local);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expectServedInline(response, bytes.length);
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
    const probed = await ffprobe(local);
    expect(probed.format.format_name).toMatch(/mp4/);
    expect(Number(probed.format.duration)).toBeCloseTo(10, 0);
    expect(probed.streams).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          codec_type: 'video',
          codec_name: 'h264',
          width: 1280,
          height: 720,
        }),
        expect.objectContaining({ codec_type: 'audio', codec_name: 'aac' }),
      ]),
    );

    // Progress, then the end, on the owner's socket; nothing of it on anyone else's.
    const deadline = Date.now() + 30_000;
    while (!owner.messages.some((m) => m.type === 'file.processed' && m.fileId === fileId)) {
      if (Date.now() > deadline) throw new Error('file.processed never reached the owner');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const mine = owner.messages.filter((m) => m.fileId === fileId).map((m) => m.type);
    // The run's start (the video kind's function claiming the file), progress while it
    // transcodes, then the end.
    expect(mine.at(-1)).toBe('file.processed');
    expect(new Set(mine)).toEqual(new Set(['file.processing', 'file.progress', 'file.processed']));
    expect(mine.filter((type) => type === 'file.processing')).toHaveLength(1);
    const percents = owner.messages
      .filter((m) => m.type === 'file.progress' && m.fileId === fileId)
      .map((m) => m.progress ?? -1);
    expect(percents.every((p) => p >= 0 && p <= 100)).toBe(true);
    // Each is published only when the recorded percentage moved forward, so none repeats;
    // the queue behind the notifier does not keep their order (the console shows the most).
    expect(new Set(percents).size).toBe(percents.length);
    expect(other.messages.filter((m) => m.fileId === fileId)).toEqual([]);

    // The execution that did it, with its steps in order, each timed; one per file version.
    const workflow = await endedWorkflow(alice, fileId);
    expect(workflow).toMatchObject({ fileId, status: 'SUCCEEDED', error: null, truncated: false });
    expect(workflow.name).toMatch(new RegExp(`^${fileId}-[0-9a-f]{32}$`));
    expect(workflow.executionArn).toMatch(
      new RegExp(`^arn:aws[a-z-]*:states:[a-z0-9-]+:\\d{12}:execution:[^:]+:${workflow.name}$`),
    );
    expect(stepsOf(workflow)).toEqual([
      'Probe:SUCCEEDED',
      'IsVideo:SUCCEEDED',
      'Transcode:SUCCEEDED',
      'Poster:SUCCEEDED',
      'Record:SUCCEEDED',
      'Publish:SUCCEEDED',
      'Done:SUCCEEDED',
    ]);
    for (const step of workflow.steps) {
      expect(step.durationMs).toBe(Date.parse(step.exitedAt ?? '') - Date.parse(step.enteredAt));
    }
    // The transcode is the long one: a 10 s 1080p video takes longer than its probe.
    const took = new Map(workflow.steps.map((s) => [s.name, s.durationMs ?? 0]));
    expect(took.get('Transcode')).toBeGreaterThan(took.get('Probe') ?? 0);
    expect(Date.parse(workflow.stoppedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(workflow.startedAt),
    );

    // Nobody else learns it exists: the same 404 as a file that does not.
    const foreign = await bob.api.request('GET', `/files/${fileId}/workflow`);
    const missingId = randomUUID();
    const missing = await bob.api.request('GET', `/files/${missingId}/workflow`);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(JSON.stringify(foreign.body).replace(fileId, 'ID')).toBe(
      JSON.stringify(missing.body).replace(missingId, 'ID'),
    );
  });

  it('ends each hostile or odd media file in the right status with a readable reason', {
    timeout: VIDEO_TIMEOUT_MS + 60_000,
  }, async () => {
    const cases = [
      { path: media.truncated, name: 'cut.mp4', type: 'video/mp4' },
      // A JPEG declared a video: the processor's type check; sent as opaque bytes with a video's
      // name: the probe's.
      { path: media.jpegAsMp4, name: 'photo.mp4', type: 'video/mp4' },
      { path: media.jpegAsMp4, name: 'photo2.mp4', type: 'application/octet-stream' },
      { path: media.mp3, name: 'tone.mp3', type: 'audio/mpeg' },
      { path: media.portrait, name: 'portrait.mp4', type: 'video/mp4' },
      { path: media.oddRotation, name: 'tilted.mp4', type: 'video/mp4' },
    ];
    const ids = await Promise.all(cases.map((c) => upload(alice, c.path, c.name, c.type)));
    const [cut, jpeg, jpegOpaque, mp3, portrait, tilted] = await Promise.all(
      ids.map((id) => waitForFile(alice.api, id, undefined, VIDEO_TIMEOUT_MS)),
    );

    expect(cut).toMatchObject({ status: 'FAILED', reason: expect.stringMatching(/cut short/) });
    expect(cut?.derivatives).toEqual([]);
    expect(jpeg).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringMatching(/JPEG image .*declared as video\/mp4/),
    });
    expect(jpegOpaque).toMatchObject({
      status: 'REJECTED',
      kind: 'video',
      reason: expect.stringMatching(/JPEG image, not video or audio/),
    });

    // Audio is kept as it is, probed; a browser plays the original (served inline).
    expect(mp3).toMatchObject({ status: 'PROCESSED', kind: 'video', derivatives: [] });
    expect(mp3?.metadata.media).toMatchObject({ audio: { codec: 'MPEG Audio' } });
    expect(mp3?.metadata.media?.video).toBeUndefined();
    const audio = await fetch(mp3?.download?.url ?? '', { headers: { Range: 'bytes=0-99' } });
    expectServedInline(audio, mp3?.size ?? 0, 100);

    // A phone's portrait video: shown turned, so its rendition is upright (720 wide).
    expect(portrait).toMatchObject({ status: 'PROCESSED' });
    expect(portrait?.metadata.media?.video).toMatchObject({
      displayWidth: 720,
      displayHeight: 1280,
    });
    expect([90, 270]).toContain(portrait?.metadata.media?.video?.rotation);
    const upright = join(DIR, 'portrait-web.mp4');
    await fetchRendition(portrait as FileView, upright);
    expect((await ffprobe(upright)).streams).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ codec_type: 'video', width: 720, height: 1280 }),
      ]),
    );

    expect(tilted).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringMatching(/turned by .*only quarter turns/),
    });

    // The user's mistakes are not the workflow's failures: those executions succeed, without
    // a transcode; a file the processor's own check rejected never had one.
    const probedOnly = ['Probe', 'IsVideo', 'Record', 'Publish', 'Done'].map(
      (n) => `${n}:SUCCEEDED`,
    );
    for (const file of [cut, jpegOpaque, mp3, tilted]) {
      const workflow = await endedWorkflow(alice, file?.fileId ?? '');
      expect(workflow.status, file?.filename).toBe('SUCCEEDED');
      expect(stepsOf(workflow), file?.filename).toEqual(probedOnly);
    }
    const unchecked = await alice.api.request<{ error: { code: string; message: string } }>(
      'GET',
      `/files/${jpeg?.fileId}/workflow`,
    );
    expect(unchecked.status).toBe(404);
    expect(unchecked.body.error.message).toMatch(/not been handed to the video workflow/);
  });
});
