import { describe, expect, it } from 'vitest';
import { canMoveTo } from '#shared/domain/file-record.ts';

describe('status moves', () => {
  it('follows PENDING_UPLOAD → UPLOADED → PROCESSING → end state', () => {
    expect(canMoveTo('PENDING_UPLOAD', 'UPLOADED')).toBe(true);
    expect(canMoveTo('UPLOADED', 'PROCESSING')).toBe(true);
    expect(canMoveTo('PROCESSING', 'PROCESSED')).toBe(true);
    expect(canMoveTo('PROCESSING', 'REJECTED')).toBe(true);
  });

  it('never lets a late event pull an end state back', () => {
    expect(canMoveTo('PROCESSED', 'PROCESSING')).toBe(false);
    expect(canMoveTo('REJECTED', 'PROCESSING')).toBe(false);
    expect(canMoveTo('PROCESSED', 'FAILED')).toBe(false);
  });

  it('lets a redriven message retry a failed file but nothing revive a deleted one', () => {
    expect(canMoveTo('FAILED', 'PROCESSING')).toBe(true);
    expect(canMoveTo('DELETED', 'PROCESSING')).toBe(false);
    expect(canMoveTo('PROCESSED', 'DELETED')).toBe(true);
  });

  it('lets only an unused upload expire, and an upload finishing late still be processed', () => {
    expect(canMoveTo('PENDING_UPLOAD', 'EXPIRED')).toBe(true);
    expect(canMoveTo('UPLOADED', 'EXPIRED')).toBe(false);
    expect(canMoveTo('PROCESSED', 'EXPIRED')).toBe(false);
    expect(canMoveTo('EXPIRED', 'PROCESSING')).toBe(true);
    expect(canMoveTo('EXPIRED', 'PROCESSED')).toBe(false);
  });
});
