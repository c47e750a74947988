import { describe, expect, it } from 'vitest';
import { modPow, padded, srpTimestamp, startSrp } from '../../../client/src/srp.ts';

describe('SRP arithmetic', () => {
  it('pads big-endian bytes with a zero byte when the high bit is set, as Cognito hashes them', () => {
    expect(Array.from(padded(0x7fn))).toEqual([0x7f]);
    expect(Array.from(padded(0x80n))).toEqual([0x00, 0x80]);
    expect(Array.from(padded(0x1234n))).toEqual([0x12, 0x34]);
    expect(Array.from(padded(0xabcn))).toEqual([0x0a, 0xbc]);
  });

  it('raises to a power modulo a number', () => {
    expect(modPow(2n, 10n, 1000n)).toBe(24n);
    expect(modPow(7n, 0n, 13n)).toBe(1n);
    expect(modPow(3n, 200n, 1_000_000_007n)).toBe(3n ** 200n % 1_000_000_007n);
  });

  it("writes Cognito's timestamp in English with the day unpadded", () => {
    expect(srpTimestamp(new Date('2026-12-01T07:05:09Z'))).toBe('Tue Dec 1 07:05:09 UTC 2026');
    expect(srpTimestamp(new Date('2026-03-15T23:59:59Z'))).toBe('Sun Mar 15 23:59:59 UTC 2026');
  });

  it('refuses a pool id without its name, and gives SRP_A as g^a mod N', () => {
    expect(() => startSrp('us-east-1')).toThrow(/not a user pool id/);
    expect(startSrp('us-east-1_abc', 3n).srpA).toBe('8');
  });
});
