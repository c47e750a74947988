import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { choosePoster, lookOf, makePoster } from '#shared/processing/video/poster.ts';

const solid = (value: number) =>
  sharp({
    create: { width: 320, height: 180, channels: 3, background: { r: value, g: value, b: value } },
  })
    .jpeg()
    .toBuffer();

/** A frame with detail: a gradient of stripes. */
const detailed = async () => {
  const width = 320;
  const height = 180;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i += 1) {
    const v = ((i % width) * 7) % 256;
    pixels.fill(v, i * 3, i * 3 + 3);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg()
    .toBuffer();
};

describe('poster choice', () => {
  it('skips black, white and flat frames for the one with detail', async () => {
    const frames = [await solid(0), await solid(255), await solid(128), await detailed()];
    const looks = await Promise.all(frames.map(lookOf));
    expect(looks[0]?.luma).toBeLessThan(5);
    expect(choosePoster(looks)).toBe(3);
    const poster = await makePoster(frames);
    expect(poster.index).toBe(3);
    expect(poster.derivatives.map((d) => [d.name, d.contentType, d.width, d.height])).toEqual([
      ['thumbnail.webp', 'image/webp', 256, 144],
      ['preview.jpg', 'image/jpeg', 320, 180],
    ]);
    const thumbnail = await sharp(poster.derivatives[0]?.data).stats();
    expect(thumbnail.channels[0]?.stdev).toBeGreaterThan(20);
  });

  it('takes the least flat frame when none is worth showing, and refuses no frame at all', () => {
    expect(
      choosePoster([
        { luma: 2, contrast: 1 },
        { luma: 10, contrast: 6 },
        { luma: 3, contrast: 2 },
      ]),
    ).toBe(1);
    expect(() => choosePoster([])).toThrow('No frame');
  });
});
