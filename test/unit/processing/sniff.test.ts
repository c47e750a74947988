import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDeclaredType } from '#shared/domain/content-types.ts';
import { sniff } from '#shared/processing/sniff.ts';
import { HTML_PAGE, makeElf, makeJpeg, makePng, SVG_WITH_SCRIPT } from '../../support/images.ts';
import { makeTestMedia } from '../../support/media.ts';

/** The leading bytes the processor sniffs, of a file made by ffmpeg. */
const headOf = async (path: string): Promise<Buffer> => (await readFile(path)).subarray(0, 4096);

describe('sniff', () => {
  it('recognises real images from their bytes', async () => {
    expect(sniff(await makeJpeg(8, 8)).mime).toBe('image/jpeg');
    expect(sniff(await makePng(8, 8)).mime).toBe('image/png');
  });

  it('calls HTML and SVG markup, not text', () => {
    expect(sniff(HTML_PAGE)).toMatchObject({ mime: 'text/html', kind: 'markup' });
    expect(sniff(SVG_WITH_SCRIPT)).toMatchObject({ mime: 'image/svg+xml', kind: 'markup' });
    expect(sniff(Buffer.from('\uFEFF  \n<svg onload="x()"></svg>'))).toMatchObject({
      kind: 'markup',
    });
  });

  it('calls executables executables', () => {
    expect(sniff(makeElf())).toMatchObject({
      kind: 'executable',
      description: 'an ELF executable',
    });
    expect(sniff(Buffer.from('#!/bin/sh\nrm -rf /\n'))).toMatchObject({ kind: 'executable' });
    const pe = Buffer.alloc(256);
    pe.write('MZ');
    pe.writeUInt32LE(128, 0x3c);
    pe.write('PE\0\0', 128, 'latin1');
    expect(sniff(pe)).toMatchObject({ kind: 'executable' });
  });

  it('does not call text an executable because it starts with MZ', () => {
    expect(sniff(Buffer.from(`MZ is a river.${' Lorem ipsum.'.repeat(10)}`)).kind).toBe('text');
  });

  it('reads UTF-8 text cut in the middle of a character as text', () => {
    const text = Buffer.from('日本語のテキスト'.repeat(10));
    expect(sniff(text.subarray(0, text.length - 1)).kind).toBe('text');
  });

  // ffmpeg makes the media: seconds of work on two busy cores.
  it('recognises each media container the video kind takes, from its bytes', {
    timeout: 120_000,
  }, async () => {
    const media = await makeTestMedia(join(tmpdir(), `syncflow-sniff-${process.pid}`));
    const sniffed = async (path: string) => sniff(await headOf(path));
    expect(await sniffed(media.h264_1080p)).toMatchObject({ mime: 'video/mp4', kind: 'media' });
    expect(await sniffed(media.vp9)).toMatchObject({ mime: 'video/webm', kind: 'media' });
    expect(await sniffed(media.ts)).toMatchObject({ mime: 'video/mp2t', kind: 'media' });
    expect(await sniffed(media.mp3)).toMatchObject({ mime: 'audio/mpeg', kind: 'media' });
    expect(await sniffed(media.m4a)).toMatchObject({ kind: 'media' });
    expect(await sniffed(media.wav)).toMatchObject({ mime: 'audio/wav', kind: 'media' });
    expect(await sniffed(media.flac)).toMatchObject({ mime: 'audio/flac', kind: 'media' });
    expect(await sniffed(media.opus)).toMatchObject({ mime: 'audio/ogg', kind: 'media' });
    // The truncated MP4 still starts like one (the probe finds it cut short); the JPEG does not.
    expect(await sniffed(media.truncated)).toMatchObject({ mime: 'video/mp4' });
    expect(await sniffed(media.jpegAsMp4)).toMatchObject({ mime: 'image/jpeg' });
    // MP3 frames without an ID3 tag: the frame header alone.
    const frame = Buffer.from([0xff, 0xfb, 0x90, 0x64, ...new Array(60).fill(0)]);
    expect(sniff(frame)).toMatchObject({ mime: 'audio/mpeg' });
    // One 0x47 is not a transport stream.
    expect(sniff(Buffer.from(`G${'x'.repeat(400)}`)).kind).toBe('text');
  });

  it('calls bytes with no signature binary', () => {
    expect(sniff(Buffer.from([0, 1, 2, 3, 250, 251]))).toMatchObject({
      mime: 'application/octet-stream',
    });
  });
});

describe('declared against sniffed type', () => {
  it('rejects HTML and SVG declared as an image', () => {
    const verdict = checkDeclaredType('image/jpeg', sniff(HTML_PAGE));
    expect(verdict).toEqual({
      ok: false,
      reason:
        "The file's bytes are an HTML document (text/html), but it was declared as image/jpeg.",
    });
    expect(checkDeclaredType('image/jpeg', sniff(SVG_WITH_SCRIPT)).ok).toBe(false);
  });

  it('rejects an executable declared as text or as binary', () => {
    expect(checkDeclaredType('text/plain', sniff(makeElf())).ok).toBe(false);
    expect(checkDeclaredType('application/octet-stream', sniff(makeElf())).ok).toBe(false);
  });

  it('takes any name of a media family for its bytes, and no name of another', () => {
    const m4a = { mime: 'video/mp4', kind: 'media', description: 'an MP4 video' } as const;
    expect(checkDeclaredType('audio/mp4', m4a)).toEqual({ ok: true, contentType: 'audio/mp4' });
    expect(checkDeclaredType('video/quicktime', m4a).ok).toBe(true);
    expect(checkDeclaredType('video/webm', m4a).ok).toBe(false);
    expect(checkDeclaredType('audio/mpeg', m4a).ok).toBe(false);
    const webm = { mime: 'video/webm', kind: 'media', description: 'a WebM video' } as const;
    expect(checkDeclaredType('audio/webm', webm).ok).toBe(true);
    expect(checkDeclaredType('video/x-matroska', webm).ok).toBe(true);
    expect(checkDeclaredType('video/mp4', sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).ok).toBe(
      false,
    );
  });

  it('keeps the declared text type for text and the sniffed type for binary', async () => {
    expect(checkDeclaredType('text/csv', sniff(Buffer.from('a,b\n1,2\n')))).toEqual({
      ok: true,
      contentType: 'text/csv',
    });
    expect(checkDeclaredType('application/octet-stream', sniff(await makePng(4, 4)))).toEqual({
      ok: true,
      contentType: 'image/png',
    });
  });
});
