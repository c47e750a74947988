import { describe, expect, it } from 'vitest';
import { derivedKey, parseUploadKey, uploadKey } from '#shared/domain/keys.ts';

const OWNER = 'a1b2c3d4-0000-4000-8000-000000000001';
const FILE = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('object keys', () => {
  it('builds upload keys from ids alone and parses them back', () => {
    const key = uploadKey(OWNER, FILE);
    expect(key).toBe(`uploads/${OWNER}/${FILE}`);
    expect(parseUploadKey(key)).toEqual({ ownerId: OWNER, fileId: FILE });
  });

  it('refuses ids that could escape the prefix', () => {
    expect(() => uploadKey('../etc', FILE)).toThrow(/owner id/);
    expect(() => uploadKey(OWNER, 'passwd')).toThrow(/file id/);
  });

  it('accepts URL-encoded event keys only when they decode to our shape', () => {
    expect(parseUploadKey(`uploads%2F${OWNER}%2F${FILE}`)).toEqual({
      ownerId: OWNER,
      fileId: FILE,
    });
    expect(parseUploadKey(`uploads/${OWNER}/${FILE}/extra`)).toBeUndefined();
    expect(parseUploadKey(`uploads/${OWNER}/red+flower.jpg`)).toBeUndefined();
    expect(parseUploadKey(`uploads/${OWNER}/%E0%A4%A`)).toBeUndefined();
    expect(parseUploadKey(`derived/${OWNER}/${FILE}`)).toBeUndefined();
  });

  it('puts derivatives outside uploads/ so the ingest rule never sees them', () => {
    expect(derivedKey(OWNER, FILE, 'thumbnail.webp').startsWith('derived/')).toBe(true);
  });
});
