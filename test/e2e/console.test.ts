import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type Browser,
  type CDPSession,
  chromium,
  type Page,
  type Request as PageRequest,
  type Response as PageResponse,
  type Route,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { ApiError } from '../../client/src/index.ts';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';
import { HTML_PAGE, makeJpeg } from '../support/images.ts';
import { freePort } from '../support/ports.ts';

/**
 * The web console in a real browser (Debian's Chromium, driven by playwright-core; no browser
 * download), against the target stack, as a person uses it.
 */
const run = promisify(execFile);
const target = inject('target');
const MIB = 1024 ** 2;
/** Chromium's flags known to work on these machines (no network beyond loopback). */
const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where screenshots go: docs/ when asked (`SYNCFLOW_SCREENSHOTS=docs`), else .syncflow/. */
const SHOTS =
  process.env.SYNCFLOW_SCREENSHOTS === 'docs'
    ? join('docs', 'screenshots')
    : join('.syncflow', 'screenshots');

let browser: Browser;
let page: Page;
let user: E2eUser;
let removeUsers: () => Promise<void> = async () => {};
let work: string;
let bigPath: string;
let big: Buffer;
let jpeg: Buffer;
let foreign: Server | undefined;

const shot = (name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Drops files on the drop zone the way a drag from the desktop does. */
const drop = (files: { name: string; type: string; data: Buffer }[]) =>
  page.evaluate(
    (list) => {
      const transfer = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: f.type }));
      }
      const zone = document.querySelector('sf-drop-zone');
      zone?.dispatchEvent(
        new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }),
      );
      zone?.dispatchEvent(
        new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }),
      );
    },
    files.map((f) => ({ name: f.name, type: f.type, base64: f.data.toString('base64') })),
  );

const uploadRow = (name: string) => page.locator(`[data-testid="upload"][data-name="${name}"]`);
const stateOf = (name: string) => uploadRow(name).getAttribute('data-state');

/** Waits until the upload of `name` is in one of `states`, failing with what it shows. */
const waitForState = async (name: string, states: string[], timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await stateOf(name);
    if (state && states.includes(state)) return state;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} is ${state} (${await uploadRow(name).textContent()}), not ${states.join('|')}`,
      );
    }
    await page.waitForTimeout(200);
  }
};

const progressOf = async (name: string) =>
  uploadRow(name)
    .locator('progress')
    .evaluate((bar: HTMLProgressElement) => bar.value / bar.max);

let cdp: CDPSession | undefined;
/** Slows the page's uploads (all of them together) to `bytesPerSecond`; -1 lifts it. */
const throttleUploads = async (bytesPerSecond: number) => {
  // One session for both calls: conditions set through another session would stay in force.
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
  }
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
};

const signIn = async () => {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#live-state[data-state="open"]').waitFor({ timeout: 20_000 });
};

const rows = () => page.locator('[data-testid="file-row"]');

/** Polls what the page shows until it matches: a list reloads over the network, later under load. */
const settled = <T>(read: () => Promise<T>) =>
  expect.poll(read, { timeout: 20_000, interval: 200 });

describe(`the web console on the ${target.name} stack, in Chromium`, () => {
  beforeAll(async () => {
    if (!target.consoleUrl) throw new Error(`The ${target.name} target serves no console`);
    mkdirSync(SHOTS, { recursive: true });
    const fresh = await freshUsers(target, ['console']);
    removeUsers = fresh.remove;
    [user] = fresh.users as [E2eUser];
    work = mkdtempSync(join(tmpdir(), 'syncflow-console-'));
    big = randomBytes(40 * MIB);
    bigPath = join(work, 'big-video.bin');
    writeFileSync(bigPath, big);
    jpeg = await makeJpeg(800, 600);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (foreign ? foreign.close(resolve) : resolve(undefined)));
    await removeUsers();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('signs in', async () => {
    await page.goto(target.consoleUrl ?? '');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('console-sign-in');
    await signIn();
    await expect(page.locator('#who').textContent()).resolves.toBe(user.email);
  });

  it('uploads dropped and chosen files with progress, live end states, and resumes a large one after a reload', async () => {
    // Slow uploads down, so that the large one is still going when the page reloads.
    await throttleUploads(MIB);
    await drop([
      { name: 'photo-of-a-cat.jpg', type: 'image/jpeg', data: jpeg },
      { name: 'invoice.jpg', type: 'image/jpeg', data: HTML_PAGE },
    ]);
    await page.getByTestId('file-input').setInputFiles(bigPath);
    // The small ones end while the large one is still on its way: PROCESSED and REJECTED, pushed
    // over the WebSocket (the console does not poll).
    expect(await waitForState('photo-of-a-cat.jpg', ['processed', 'failed', 'rejected'])).toBe(
      'processed',
    );
    expect(await waitForState('invoice.jpg', ['processed', 'failed', 'rejected'])).toBe('rejected');
    await expect(uploadRow('invoice.jpg').textContent()).resolves.toMatch(/HTML document/);
    const deadline = Date.now() + 60_000;
    while ((await progressOf('big-video.bin')) < 0.25 && Date.now() < deadline)
      await page.waitForTimeout(200);
    const before = await progressOf('big-video.bin');
    expect(before).toBeGreaterThanOrEqual(0.25);
    expect(before).toBeLessThan(1);
    await expect(page.getByTestId('total').textContent()).resolves.toMatch(/\/s, .* left/);
    await expect(uploadRow('big-video.bin').textContent()).resolves.toMatch(/Uploading \d+%/);
    await shot('console-uploading');

    await page.reload();
    await page.locator('#live-state[data-state="open"]').waitFor({ timeout: 20_000 });
    await throttleUploads(-1);
    const unfinished = page.getByTestId('unfinished');
    await expect(unfinished.textContent()).resolves.toMatch(
      /big-video\.bin .*choose the same file again/,
    );
    await page.getByTestId('file-input').setInputFiles(bigPath);
    expect(await waitForState('big-video.bin', ['processed', 'failed', 'rejected'], 120_000)).toBe(
      'processed',
    );
    await expect(uploadRow('big-video.bin').getAttribute('data-resumed')).resolves.toBe('true');
    await expect(unfinished.count()).resolves.toBe(0);

    // What the server holds is exactly the file: the CRC64NVME matched at completion, and the
    // processor's SHA-256 agrees.
    const listed = await user.client.api.listFiles({ q: 'big-video' });
    const record = await user.client.api.getFile(listed.items[0]?.fileId ?? '');
    expect(record).toMatchObject({
      status: 'PROCESSED',
      size: big.length,
      sha256: createHash('sha256').update(big).digest('hex'),
    });
  });

  it('filters and pages the list', async () => {
    for (let i = 1; i <= 4; i++) {
      const data = Buffer.from(`note ${i}\n`);
      await user.client.uploader.upload(
        new File([new Uint8Array(data)], `note-${i}.txt`, { type: 'text/plain' }),
      );
    }
    await page.getByLabel('Per page').selectOption('5');
    await settled(() => rows().count()).toBe(5);
    const next = page.getByRole('button', { name: 'Next page' });
    await expect(next.isEnabled()).resolves.toBe(true);
    await next.click();
    await settled(() => rows().count()).toBe(2);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await settled(() => rows().count()).toBe(5);
    await page.getByLabel('Status').selectOption('REJECTED');
    await settled(() => rows().allTextContents()).toEqual([expect.stringContaining('invoice.jpg')]);
    await page.getByLabel('Status').selectOption('');
    // The type filter and the sort. The type is the one the bytes showed (the list's Type
    // column): invoice.jpg is an HTML page, so it is text with the four notes, not an image.
    await page.getByLabel('Type').selectOption('text/*');
    await page.getByLabel('Sort').selectOption('filename');
    const named = (names: string[]) => names.map((name) => expect.stringContaining(name));
    const notes = (order: number[]) => order.map((i) => `note-${i}.txt`);
    await settled(() => rows().allTextContents()).toEqual(
      named(['invoice.jpg', ...notes([1, 2, 3, 4])]),
    );
    await page.getByLabel('Sort').selectOption('-filename');
    await settled(() => rows().allTextContents()).toEqual(
      named([...notes([4, 3, 2, 1]), 'invoice.jpg']),
    );
    await page.getByLabel('Type').selectOption('image/*');
    await settled(() => rows().allTextContents()).toEqual(named(['photo-of-a-cat.jpg']));
    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('Sort').selectOption('-size');
    await settled(async () => (await rows().allTextContents())[0]).toContain('big-video.bin');
    await page.getByLabel('Sort').selectOption('size');
    await settled(async () => (await rows().allTextContents())[0]).toMatch(/note-\d\.txt/);
    await page.getByLabel('Sort').selectOption('-createdAt');
    await page.getByLabel('Name starts with').fill('photo');
    await page.getByRole('button', { name: 'Apply' }).click();
    await settled(() => rows().allTextContents()).toEqual([
      expect.stringContaining('photo-of-a-cat.jpg'),
    ]);
    // The list shows the processed image's thumbnail.
    await settled(() =>
      rows()
        .first()
        .locator('img')
        .evaluate((img: HTMLImageElement) => img.naturalWidth),
    ).toBeGreaterThan(0);
    await page.getByLabel('Name starts with').fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await settled(() => rows().count()).toBe(5);
    await shot('console-files');
  });

  it('opens a detail view with metadata and the thumbnail, then deletes the file', async () => {
    await page.getByLabel('Name starts with').fill('photo');
    await page.getByRole('button', { name: 'Apply' }).click();
    await settled(() => rows().count()).toBe(1);
    await page.getByRole('button', { name: 'photo-of-a-cat.jpg' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toMatch(/800 × 600 jpeg/);
    await settled(() =>
      page.getByTestId('detail-thumbnail').evaluate((img: HTMLImageElement) => img.naturalWidth),
    ).toBe(256);
    await shot('console-detail');
    const fileId = await rows()
      .filter({ hasText: 'photo-of-a-cat.jpg' })
      .getAttribute('data-file-id');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await settled(() => rows().filter({ hasText: 'photo-of-a-cat.jpg' }).count()).toBe(0);
    const gone = await user.client.api.getFile(fileId ?? '').catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ApiError);
    expect((gone as ApiError).status).toBe(404);
  });

  it('pauses a large upload with no bytes moving, resumes it to PROCESSED, and cancels another', async () => {
    const paused = randomBytes(30 * MIB);
    const pausedPath = join(work, 'paused-big.bin');
    writeFileSync(pausedPath, paused);
    const cancelledPath = join(work, 'cancelled-big.bin');
    writeFileSync(cancelledPath, randomBytes(30 * MIB));
    // The server's answers to POST /uploads, by filename: the file ids the console was given.
    const created = new Map<string, string>();
    const aborts: string[] = [];
    let partsStarted = 0;
    const onRequest = (request: PageRequest) => {
      if (request.method() === 'PUT') partsStarted++;
      if (request.method() === 'DELETE' && /\/uploads\/[^/?]+\?uploadId=/.test(request.url()))
        aborts.push(request.url());
    };
    const onResponse = (response: PageResponse) => {
      const request = response.request();
      if (request.method() !== 'POST' || !new URL(response.url()).pathname.endsWith('/uploads'))
        return;
      const filename = (request.postDataJSON() as { filename?: string }).filename ?? '';
      void response
        .json()
        .then((body: { fileId: string }) => created.set(filename, body.fileId))
        .catch(() => undefined);
    };
    // Part PUTs to S3 go through the first `letThrough` of a file, then wait here: the upload is
    // certainly under way, and still far from its end, when it is paused or cancelled (network
    // throttling proved no such guarantee on a loaded machine).
    let letThrough = 2;
    const held: Route[] = [];
    const isPart = (url: URL) => url.searchParams.has('partNumber');
    const holdParts = async (route: Route) => {
      if (route.request().method() !== 'PUT') return route.fallback();
      if (letThrough > 0) {
        letThrough--;
        return route.continue().catch(() => undefined);
      }
      held.push(route);
    };
    const release = (continueThem: boolean) => {
      for (const route of held.splice(0))
        void (continueThem ? route.continue() : route.abort()).catch(() => undefined);
    };
    page.on('request', onRequest);
    page.on('response', onResponse);
    await page.route(isPart, holdParts);
    onTestFinished(async () => {
      page.off('request', onRequest);
      page.off('response', onResponse);
      await page.unroute(isPart, holdParts);
      release(true);
    });
    const heldAtLeast = (n: number) =>
      expect.poll(() => held.length, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(n);
    await page.getByLabel('Files at once').selectOption('1');
    await page.getByTestId('file-input').setInputFiles(pausedPath);
    // Four parts at once: two went through, and the four after them wait.
    await heldAtLeast(4);
    expect(await stateOf('paused-big.bin')).toBe('uploading');
    await page.getByRole('button', { name: 'Pause paused-big.bin' }).click();
    expect(await waitForState('paused-big.bin', ['paused'])).toBe('paused');
    // The page gave up the waiting parts; nothing is let through for them.
    release(false);
    // Paused: no part is sent and the bar stands still.
    await page.waitForTimeout(500);
    const at = await progressOf('paused-big.bin');
    expect(at).toBeGreaterThanOrEqual(0.3);
    expect(at).toBeLessThan(1);
    const startedBefore = partsStarted;
    await page.waitForTimeout(3_000);
    expect(partsStarted).toBe(startedBefore);
    expect(await progressOf('paused-big.bin')).toBe(at);
    expect(await stateOf('paused-big.bin')).toBe('paused');

    // With one file at once and that one paused, the next file takes the slot; it is cancelled.
    letThrough = 1;
    await page.getByTestId('file-input').setInputFiles(cancelledPath);
    await heldAtLeast(4);
    await page.getByRole('button', { name: 'Cancel cancelled-big.bin' }).click();
    expect(await waitForState('cancelled-big.bin', ['cancelled'])).toBe('cancelled');
    release(false);
    // The API aborted its multipart session: the file is gone, not left waiting for bytes.
    await settled(async () => aborts.length).toBe(1);
    const cancelledId = created.get('cancelled-big.bin') ?? '';
    expect(cancelledId).not.toBe('');
    expect(aborts[0]).toContain(`/uploads/${cancelledId}?`);
    await settled(async () => {
      const answer = await user.client.api.getFile(cancelledId).catch((e: unknown) => e);
      return answer instanceof ApiError ? answer.status : (answer as { status: string }).status;
    }).toBe(404);
    const waiting = await user.client.api.listFiles({ status: 'PENDING_UPLOAD' });
    expect(waiting.items.map((f) => f.filename)).not.toContain('cancelled-big.bin');

    letThrough = Number.POSITIVE_INFINITY;
    await page.getByRole('button', { name: 'Resume paused-big.bin' }).click();
    expect(
      await waitForState(
        'paused-big.bin',
        ['processed', 'failed', 'rejected', 'cancelled'],
        120_000,
      ),
    ).toBe('processed');
    await expect(uploadRow('paused-big.bin').getAttribute('data-resumed')).resolves.toBe('true');
    const record = await user.client.api.getFile(created.get('paused-big.bin') ?? '');
    expect(record).toMatchObject({
      status: 'PROCESSED',
      size: paused.length,
      sha256: createHash('sha256').update(paused).digest('hex'),
    });
    await page.getByLabel('Files at once').selectOption('3');
  });

  it('uploads a chosen folder, the files of its subfolders included', async () => {
    const folder = join(work, 'reports');
    mkdirSync(join(folder, '2026', 'q4'), { recursive: true });
    writeFileSync(join(folder, 'summary.txt'), 'the year in one line\n');
    writeFileSync(join(folder, '2026', 'q4', 'december.csv'), 'day,files\n1,3\n2,5\n');
    await page.getByTestId('folder-input').setInputFiles(folder);
    for (const name of ['summary.txt', 'december.csv']) {
      expect(await waitForState(name, ['processed', 'failed', 'rejected'])).toBe('processed');
    }
    const listed = await user.client.api.listFiles({ q: 'december' });
    expect(listed.items.map((f) => f.filename)).toEqual(['december.csv']);
    // Found as what it is, from its name and bytes: a table.
    const table = await user.client.api.getFile(listed.items[0]?.fileId ?? '');
    expect(table.kind).toBe('tabular');
  });

  // `fault-slow` (a local-stage fault) holds a reprocess run for twenty seconds: long enough to
  // see the run on screen, which a normal run is too quick for.
  it.runIf(target.name === 'local')(
    'shows a run live: a reprocessed file goes UPLOADED, PROCESSING, PROCESSED with no reload',
    async () => {
      const data = Buffer.from('slow to process\n');
      const file = new File([new Uint8Array(data)], 'fault-slow-notes.txt', { type: 'text/plain' });
      const { fileId } = await user.client.uploader.upload(file);
      await expect
        .poll(async () => (await user.client.api.getFile(fileId)).status, { timeout: 60_000 })
        .toBe('PROCESSED');
      await page.getByLabel('Name starts with').fill('fault-slow');
      await page.getByRole('button', { name: 'Apply' }).click();
      await settled(() => rows().count()).toBe(1);
      const badge = rows().first().locator('.status-cell .badge');
      await settled(() => badge.getAttribute('data-status')).toBe('PROCESSED');
      // Event times have whole seconds, and a start no newer than the file's last end is taken
      // for a late push of that run: the reprocess starts in a later second than the first end.
      await page.waitForTimeout(1_100);
      let loads = 0;
      page.on('request', (request) => {
        if (/\/files\?/.test(request.url())) loads++;
      });
      await page.getByRole('button', { name: 'fault-slow-notes.txt' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('button', { name: 'Reprocess' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // Pushed over the WebSocket while the run is held, then its end.
      await settled(() => badge.getAttribute('data-status')).toBe('PROCESSING');
      await expect
        .poll(() => badge.getAttribute('data-status'), { timeout: 60_000, interval: 200 })
        .toBe('PROCESSED');
      expect(loads).toBe(0);
    },
  );

  it("plays a video's web rendition, its poster first, and lists its probe", {
    timeout: 360_000,
  }, async () => {
    const clip = join(work, 'clip.mp4');
    await run('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=3'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-c:v', 'libx264'],
      ...['-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip],
    ]);
    // What the detail asked of the workflow route, in order: a 404 while the file waits for
    // its hand-off, then the execution's status each time.
    const asked: string[] = [];
    page.on('response', (response) => {
      if (!/\/files\/[^/]+\/workflow$/.test(new URL(response.url()).pathname)) return;
      if (response.request().method() !== 'GET') return;
      void response
        .json()
        .then((body: { status?: string }) => asked.push(body.status ?? String(response.status())))
        .catch(() => asked.push(String(response.status())));
    });
    await drop([{ name: 'clip.mp4', type: 'video/mp4', data: readFileSync(clip) }]);
    await waitForState('clip.mp4', ['uploaded', 'processing', 'processed', 'failed', 'rejected']);
    await page.getByLabel('Name starts with').fill('clip');
    await page.getByRole('button', { name: 'Apply' }).click();
    await settled(() => rows().count()).toBe(1);
    // Opened while the video is processed: its steps arrive and move on their own.
    await page.getByRole('button', { name: 'clip.mp4' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const workflow = dialog.getByTestId('workflow');
    await expect
      .poll(() => workflow.getAttribute('data-status'), { timeout: 300_000, interval: 500 })
      .toBe('SUCCEEDED');
    const steps = workflow.getByTestId('workflow-step');
    await expect(
      steps.evaluateAll((items) =>
        items.map(
          (li) =>
            `${li.querySelector('.step-name')?.textContent}:${li.getAttribute('data-status')}`,
        ),
      ),
    ).resolves.toEqual(
      ['Probe', 'IsVideo', 'Transcode', 'Poster', 'Record', 'Publish', 'Done'].map(
        (name) => `${name}:SUCCEEDED`,
      ),
    );
    await expect(steps.first().textContent()).resolves.toMatch(/Probe.*succeeded.*\d+(\.\d)? m?s/);
    // It was asked again while the execution ran (the first answers came before its end)…
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked[0]).not.toBe('SUCCEEDED');
    expect(asked.at(-1)).toBe('SUCCEEDED');
    // …and no more once it ended.
    const answered = asked.length;
    await page.waitForTimeout(4500);
    expect(asked).toHaveLength(answered);
    await shot('console-workflow');
    await dialog.getByRole('button', { name: 'Close' }).click();

    expect(await waitForState('clip.mp4', ['processed', 'failed', 'rejected'], 60_000)).toBe(
      'processed',
    );
    await page.getByRole('button', { name: 'clip.mp4' }).click();
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toMatch(/AVC .*640 × 360.*25 fps/);
    // Opened once it ended: the steps at once, and one question only.
    await settled(() => workflow.getByTestId('workflow-step').count()).toBe(7);
    await settled(async () => asked.length).toBe(answered + 1);
    const video = page.getByTestId('detail-video');
    onTestFinished(() => dialog.getByRole('button', { name: 'Close' }).click());
    await expect(video.getAttribute('poster')).resolves.toMatch(/preview\.jpg/);
    // Chromium read the rendition's header from its URL: a playable H.264/AAC MP4 of 3 s.
    await settled(() =>
      video.evaluate((v: HTMLVideoElement) => (v.error ? `error ${v.error.code}` : v.duration)),
    ).toBeCloseTo(3, 0);
    await expect(video.evaluate((v: HTMLVideoElement) => v.videoHeight)).resolves.toBe(360);
    await shot('console-video');
  });

  it('fits a phone-sized screen in dark mode, keyboard first', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
    expect(focused.length).toBeGreaterThan(0);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('console-phone-dark');
  });

  it("keeps the API's answers from pages of other origins", async () => {
    const port = await freePort();
    foreign = createServer((_request, response) => {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise<void>((resolve) => foreign?.listen(port, '127.0.0.1', resolve));
    const probe = (url: string, token: string) =>
      page.evaluate(
        async ({ url, token }) => {
          try {
            const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
            return `read ${response.status}`;
          } catch (error) {
            return `blocked ${(error as Error).name}`;
          }
        },
        { url, token },
      );
    const files = `${target.restUrl}files?limit=1`;
    // From the console's own origin the answer is readable ...
    expect(await probe(files, user.token)).toBe('read 200');
    // ... from any other origin the browser withholds it (no Access-Control-Allow-Origin).
    await page.goto(`http://127.0.0.1:${port}/`);
    expect(await probe(files, user.token)).toBe('blocked TypeError');
  });
});
