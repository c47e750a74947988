import { describe, expect, it } from 'vitest';
import { derivedKey, parseUploadKey, uploadKey } from '#shared/domain/keys.ts';

const OWNER = 'a1b2c3d4-0000-4000-8000-000000000001';
const FILE = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('object keys', () => {
  it('builds upload keys from ids and the kind alone and parses them back', () => {
    const key = uploadKey(OWNER, FILE, 'tabular');
    expect(key).toBe(`uploads/tabular/${OWNER}/${FILE}`);
    expect(parseUploadKey(key)).toEqual({ ownerId: OWNER, fileId: FILE, kind: 'tabular' });
  });

  it('still parses keys made before kinds, which name no kind', () => {
    expect(parseUploadKey(`uploads/${OWNER}/${FILE}`)).toEqual({ ownerId: OWNER, fileId: FILE });
  });

  it('refuses ids that could escape the prefix, and kinds it does not know', () => {
    expect(() => uploadKey('../etc', FILE, 'image')).toThrow(/owner id/);
    expect(() => uploadKey(OWNER, 'passwd', 'image')).toThrow(/file id/);
    expect(() => uploadKey(OWNER, FILE, 'audio' as 'image')).toThrow(/kind/);
    expect(parseUploadKey(`uploads/audio/${OWNER}/${FILE}`)).toBeUndefined();
  });

  it('accepts URL-encoded event keys only when they decode to our shape', () => {
    expect(parseUploadKey(`uploads%2F${OWNER}%2F${FILE}`)).toEqual({
      ownerId: OWNER,
      fileId: FILE,
    });
    expect(parseUploadKey(`uploads%2Flogs%2F${OWNER}%2F${FILE}`)).toEqual({
      ownerId: OWNER,
      fileId: FILE,
      kind: 'logs',
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
