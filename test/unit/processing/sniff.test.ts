import { describe, expect, it } from 'vitest';
import { checkDeclaredType } from '#shared/domain/content-types.ts';
import { sniff } from '#shared/processing/sniff.ts';
import { HTML_PAGE, makeElf, makeJpeg, makePng, SVG_WITH_SCRIPT } from '../../support/images.ts';

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
