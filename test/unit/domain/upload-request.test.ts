import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_CONTENT_TYPES } from '#shared/domain/content-types.ts';
import { HttpError } from '#shared/domain/errors.ts';
import { sanitiseFilename, validateUploadRequest } from '#shared/domain/upload-request.ts';

const limits = {
  maxUploadBytes: 100 * 1024 * 1024,
  allowedContentTypes: DEFAULT_ALLOWED_CONTENT_TYPES,
  uploadUrlTtlSeconds: 900,
};

const expectHttpError = (fn: () => unknown, status: number, message: RegExp): void => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).statusCode).toBe(status);
    expect((error as HttpError).message).toMatch(message);
    return;
  }
  throw new Error('expected an HttpError');
};

describe('upload requests', () => {
  it('accepts a valid request and normalises type and checksum', () => {
    const sha = 'A'.repeat(64);
    const valid = validateUploadRequest(
      { filename: 'holiday.JPG', contentType: 'Image/JPG', size: 1234, checksumSha256: sha },
      limits,
    );
    expect(valid.contentType).toBe('image/jpeg');
    expect(valid.checksumSha256).toBe('a'.repeat(64));
    expect(valid.fileId).toMatch(/^[0-9a-f-]{36}$/);
    // The stage's URL lifetime unless the client asks for a shorter one.
    expect(valid.expiresInSeconds).toBe(900);
    const brief = validateUploadRequest(
      { filename: 'a.txt', contentType: 'text/plain', size: 1, expiresInSeconds: 30 },
      limits,
    );
    expect(brief.expiresInSeconds).toBe(30);
  });

  it('accepts a base64 checksum as S3 writes it', () => {
    const hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const base64 = Buffer.from(hex, 'hex').toString('base64');
    const valid = validateUploadRequest(
      { filename: 'a.txt', contentType: 'text/plain', size: 1, checksumSha256: base64 },
      limits,
    );
    expect(valid.checksumSha256).toBe(hex);
  });

  it.each([
    [{}, 400, /filename/],
    [{ filename: 'a', contentType: 'text/plain', size: -1 }, 400, /size/],
    [{ filename: 'a', contentType: 'text/plain', size: 1.5 }, 400, /size/],
    [{ filename: 'a', contentType: 'text/plain', size: '1' }, 400, /size/],
    [{ filename: 'a', contentType: 'text/plain', size: 1, extra: true }, 400, /extra/],
    [{ filename: '/', contentType: 'text/plain', size: 1 }, 400, /visible character/],
    [{ filename: 'a', contentType: 'not a type', size: 1 }, 400, /not a MIME type/],
    [{ filename: 'a', contentType: 'text/html', size: 1 }, 415, /not accepted/],
    [{ filename: 'a', contentType: 'image/svg+xml', size: 1 }, 415, /not accepted/],
    [{ filename: 'a', contentType: 'text/plain', size: 200 * 1024 * 1024 }, 413, /limit/],
    [{ filename: 'a', contentType: 'text/plain', size: 1, checksumSha256: 'abc' }, 400, /SHA-256/],
    [{ filename: 'a', contentType: 'text/plain', size: 1, expiresInSeconds: 0 }, 400, /expiresIn/],
    [
      { filename: 'a', contentType: 'text/plain', size: 1, expiresInSeconds: 1.5 },
      400,
      /expiresIn/,
    ],
    [
      { filename: 'a', contentType: 'text/plain', size: 1, expiresInSeconds: 901 },
      400,
      /at most 900/,
    ],
    ['a string', 400, /body/],
  ])('refuses %j with %i', (body, status, message) => {
    expectHttpError(() => validateUploadRequest(body, limits), status, message);
  });
});

describe('filenames', () => {
  it('keeps unicode and emoji but drops directories and control characters', () => {
    expect(sanitiseFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitiseFilename('C:\\Users\\me\\Café 🌸.png')).toBe('Café 🌸.png');
    expect(sanitiseFilename('evil\u202Egnp.exe')).toBe('evilgnp.exe');
    expect(sanitiseFilename('a\r\nb.txt')).toBe('a b.txt');
    expect(sanitiseFilename('..')).toBeUndefined();
    expect(sanitiseFilename('.bashrc')).toBe('bashrc');
  });

  it('normalises to NFC so the same name compares equal however it was typed', () => {
    expect(sanitiseFilename('Cafe\u0301.txt')).toBe('Caf\u00e9.txt');
  });

  it('cuts long names to 255 UTF-8 bytes without splitting a character', () => {
    const name = sanitiseFilename('é'.repeat(300));
    expect(name).toBeDefined();
    expect(Buffer.byteLength(name ?? '', 'utf8')).toBeLessThanOrEqual(255);
    expect(name).toMatch(/^é+$/);
  });
});
