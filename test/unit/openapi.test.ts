import { describe, expect, it } from 'vitest';
import { responseProblems } from '../support/openapi.ts';

/** The checker the handler and end-to-end tests run every response through can say no. */
describe('docs/openapi.yaml as a response checker', () => {
  const summary = {
    fileId: '6f1c2a52-6c0e-4c47-9a57-1d1e5b1f3d0a',
    filename: 'a.txt',
    status: 'PROCESSED',
    size: 1,
    contentType: 'text/plain',
    reason: null,
    createdAt: '2026-11-29T10:00:00.000Z',
    updatedAt: '2026-11-29T10:00:00.000Z',
  };

  it('accepts a response the document describes', () => {
    expect(responseProblems('GET', '/files', 200, { items: [summary], nextCursor: null })).toEqual(
      [],
    );
    expect(responseProblems('DELETE', '/files/x', 204, '')).toEqual([]);
  });

  it('refuses a missing field, an unknown field, a wrong type and an unlisted status', () => {
    const { reason: _reason, ...withoutReason } = summary;
    expect(
      responseProblems('GET', '/files', 200, { items: [withoutReason], nextCursor: null }),
    ).not.toEqual([]);
    expect(
      responseProblems('GET', '/files', 200, {
        items: [{ ...summary, secret: 1 }],
        nextCursor: null,
      }),
    ).not.toEqual([]);
    expect(
      responseProblems('GET', '/files', 200, {
        items: [{ ...summary, size: '1' }],
        nextCursor: null,
      }),
    ).not.toEqual([]);
    expect(responseProblems('GET', '/files', 418, {})).toEqual([
      expect.stringMatching(/does not list/),
    ]);
    expect(
      responseProblems('GET', '/files/x', 404, { error: { code: 'NOPE', message: 'x' } }),
    ).not.toEqual([]);
    expect(responseProblems('PUT', '/files', 200, {})).not.toEqual([]);
  });
});
