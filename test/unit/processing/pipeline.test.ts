import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkUpload } from '#shared/processing/check-upload.ts';
import { type Declared, runPipeline } from '#shared/processing/pipeline.ts';
import {
  chunked,
  HTML_PAGE,
  makeElf,
  makeJpeg,
  makePng,
  makePngHeaderOnly,
  SVG_WITH_SCRIPT,
} from '../../support/images.ts';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const declared = (
  data: Buffer,
  contentType: string,
  checksumSha256: string | null = null,
): Declared => ({
  contentType,
  size: data.length,
  checksumSha256,
});

describe('pipeline on real images', () => {
  it('hashes, sniffs, reads metadata and makes both derivatives of a JPEG', async () => {
    const jpeg = await makeJpeg(2000, 1500, {
      exif: { IFD0: { Make: 'SyncFlow', Model: 'Test Camera' } },
    });
    const result = await runPipeline(
      chunked(jpeg, 7000),
      declared(jpeg, 'image/jpeg', sha256(jpeg)),
    );
    expect(result.status).toBe('PROCESSED');
    if (result.status !== 'PROCESSED') return;
    expect(result.size).toBe(jpeg.length);
    expect(result.sha256).toBe(sha256(jpeg));
    expect(result.contentType).toBe('image/jpeg');
    expect(result.metadata.image).toMatchObject({
      format: 'jpeg',
      width: 2000,
      height: 1500,
      colorSpace: 'srgb',
      exif: { make: 'SyncFlow', model: 'Test Camera' },
    });
    const [thumbnail, preview] = result.derivatives;
    expect(thumbnail).toMatchObject({ name: 'thumbnail.webp', width: 256, height: 192 });
    expect(preview).toMatchObject({ name: 'preview.jpg', width: 1024, height: 768 });
    const thumbMeta = await sharp(thumbnail?.data).metadata();
    expect(thumbMeta).toMatchObject({ format: 'webp', width: 256, height: 192 });
    expect(thumbMeta.exif).toBeUndefined();
    const previewMeta = await sharp(preview?.data).metadata();
    expect(previewMeta).toMatchObject({ format: 'jpeg', width: 1024, height: 768 });
  });

  it('turns a portrait photo upright by its EXIF orientation', async () => {
    // Stored landscape, orientation 6 says "rotate 90° clockwise to view".
    const jpeg = await makeJpeg(400, 300, { orientation: 6 });
    const result = await runPipeline(chunked(jpeg), declared(jpeg, 'image/jpeg'));
    if (result.status !== 'PROCESSED') throw new Error(`unexpected ${result.status}`);
    expect(result.metadata.image?.orientation).toBe(6);
    expect(result.derivatives[1]).toMatchObject({ width: 300, height: 400 });
  });

  it('never enlarges a small image and flattens transparency for the JPEG preview', async () => {
    const png = await makePng(100, 50, true);
    const result = await runPipeline(chunked(png), declared(png, 'image/png'));
    if (result.status !== 'PROCESSED') throw new Error(`unexpected ${result.status}`);
    expect(result.metadata.image).toMatchObject({ format: 'png', hasAlpha: true });
    expect(result.derivatives.map((d) => [d.width, d.height])).toEqual([
      [100, 50],
      [100, 50],
    ]);
    expect((await sharp(result.derivatives[1]?.data).metadata()).hasAlpha).toBe(false);
  });

  it('rejects bytes that are not an image, saying what they are', async () => {
    const csv = Buffer.from('id,name\n1,Zoë\n');
    const result = await runPipeline(chunked(csv), declared(csv, 'text/csv'));
    expect(result).toMatchObject({ status: 'REJECTED', contentType: 'text/csv' });
    expect(result.status === 'REJECTED' && result.reason).toMatch(/bytes are text.*not an image/);
  });
});

describe('pipeline on hostile input', () => {
  it('fails a zero-byte file with a reason', async () => {
    const result = await runPipeline(chunked(Buffer.alloc(0)), {
      contentType: 'image/jpeg',
      size: 1,
      checksumSha256: null,
    });
    expect(result).toMatchObject({ status: 'FAILED', reason: 'The file is empty (0 bytes).' });
  });

  it('fails a truncated JPEG as undecodable', async () => {
    const jpeg = await makeJpeg(600, 400);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const result = await runPipeline(chunked(truncated), declared(truncated, 'image/jpeg'));
    expect(result.status).toBe('FAILED');
    if (result.status === 'PROCESSED') return;
    expect(result.reason).toBe(
      'The image could not be decoded: it is damaged, cut short, or in a form the image library cannot read.',
    );
  });

  it('fails a PNG declaring 100,000 × 100,000 pixels before decoding a pixel', async () => {
    const bomb = makePngHeaderOnly(100_000, 100_000);
    const before = process.memoryUsage().rss;
    const result = await runPipeline(chunked(bomb), declared(bomb, 'image/png'));
    expect(result).toMatchObject({
      status: 'FAILED',
      reason: 'The image is 100000 × 100000 pixels, over the limit of 100000000 pixels.',
    });
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it.each([
    [
      'HTML',
      HTML_PAGE,
      'image/jpeg',
      /an HTML document \(text\/html\), but it was declared as image\/jpeg/,
    ],
    ['SVG with a script', SVG_WITH_SCRIPT, 'image/jpeg', /an SVG document/],
    ['an ELF executable', makeElf(), 'text/plain', /an ELF executable .* declared as text\/plain/],
  ])('rejects %s declared as %s', async (_name, data, contentType, reason) => {
    const result = await runPipeline(chunked(data), declared(data, contentType));
    expect(result.status).toBe('REJECTED');
    if (result.status === 'PROCESSED') return;
    expect(result.reason).toMatch(reason);
  });

  it('rejects a file whose checksum or size contradicts the request', async () => {
    const text = Buffer.from('hello');
    expect(
      await runPipeline(chunked(text), declared(text, 'text/plain', 'f'.repeat(64))),
    ).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringMatching(/SHA-256/),
    });
    expect(
      await runPipeline(chunked(text), {
        contentType: 'text/plain',
        size: 6,
        checksumSha256: null,
      }),
    ).toMatchObject({ status: 'REJECTED', reason: 'The file has 5 bytes, but 6 were declared.' });
  });

  it('streams a 1 GiB object in constant memory and hashes every byte', async () => {
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
    const blocks = 1024;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < blocks; i++) yield block;
    }
    const expected = createHash('sha256');
    for (let i = 0; i < blocks; i++) expected.update(block);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    // The checks every kind makes (an `other` file's whole work).
    const result = await checkUpload(
      body(),
      {
        contentType: 'application/octet-stream',
        size: blocks * block.length,
        checksumSha256: null,
      },
      { maxImageBytes: 0 },
    );
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(result).toMatchObject({
      ok: true,
      common: { size: 2 ** 30, sha256: expected.digest('hex') },
    });
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
