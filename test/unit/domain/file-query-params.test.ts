import { describe, expect, it } from 'vitest';
import { HttpError } from '#shared/domain/errors.ts';
import { encodeCursor, parseFileQuery } from '#shared/domain/file-query-params.ts';

const KEY = Buffer.from('test-key');
const FILE = '0f8fad5b-d9cb-469f-a165-70867728950e';

const refusal = (params: Record<string, string>, owner = 'alice'): string => {
  try {
    parseFileQuery(owner, params, KEY);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).statusCode).toBe(400);
    return (error as HttpError).message;
  }
  throw new Error('expected a 400');
};

describe('GET /files parameters', () => {
  it('defaults to the newest 20 files', () => {
    expect(parseFileQuery('alice', {}, KEY)).toEqual({
      ownerId: 'alice',
      sort: '-createdAt',
      limit: 20,
    });
  });

  it('takes every filter of the contract', () => {
    const query = parseFileQuery(
      'alice',
      {
        status: 'PROCESSED',
        contentType: 'Image/*',
        q: "o'hara",
        createdFrom: '2026-01-01',
        createdTo: '2026-12-31T23:59:59Z',
        sort: 'size',
        limit: '100',
      },
      KEY,
    );
    expect(query).toMatchObject({
      status: 'PROCESSED',
      contentType: 'image/*',
      filenamePrefix: "o'hara",
      sort: 'size',
      limit: 100,
    });
    expect(query.createdFrom?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it.each([
    [{ limit: '0' }, /limit/],
    [{ limit: '101' }, /limit/],
    [{ limit: '1e3' }, /limit/],
    [{ limit: '99999999999999999999' }, /limit/],
    [{ sort: 'password' }, /sort: must be one of/],
    [{ status: 'DONE' }, /status/],
    [{ contentType: 'nope' }, /contentType/],
    [{ createdFrom: 'yesterday' }, /createdFrom/],
    [{ createdFrom: '2026-02-01', createdTo: '2026-01-01' }, /after createdTo/],
    [{ q: 'x'.repeat(256) }, /q:/],
    [{ offset: '10' }, /offset: is not a parameter/],
  ])('refuses %j with a 400 that names the parameter', (params, message) => {
    expect(refusal(params)).toMatch(message);
  });
});

describe('cursors', () => {
  const base = { ownerId: 'alice', sort: '-createdAt' as const };
  const cursor = encodeCursor(KEY, base, { value: '2026-11-29T00:00:00.000Z', fileId: FILE });

  it('carry where the page ended', () => {
    expect(parseFileQuery('alice', { cursor }, KEY).after).toEqual({
      value: '2026-11-29T00:00:00.000Z',
      fileId: FILE,
    });
  });

  it('are refused when altered, or used with other filters, another sort, another user or key', () => {
    const [payload, mac] = cursor.split('.');
    const forged = `${Buffer.from(JSON.stringify(['2000-01-01T00:00:00.000Z', FILE])).toString('base64url')}.${mac}`;
    expect(refusal({ cursor: forged })).toMatch(/cursor/);
    expect(refusal({ cursor: `${payload}.AAAA` })).toMatch(/cursor/);
    expect(refusal({ cursor: 'garbage' })).toMatch(/cursor/);
    expect(refusal({ cursor, status: 'FAILED' })).toMatch(/cursor/);
    expect(refusal({ cursor, sort: 'size' })).toMatch(/cursor/);
    expect(refusal({ cursor }, 'mallory')).toMatch(/cursor/);
    expect(() => parseFileQuery('alice', { cursor }, Buffer.from('other-key'))).toThrow(/cursor/);
  });

  it('survive a change of page size', () => {
    expect(parseFileQuery('alice', { cursor, limit: '5' }, KEY).after?.fileId).toBe(FILE);
  });
});
