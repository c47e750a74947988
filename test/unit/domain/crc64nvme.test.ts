import { randomBytes } from 'node:crypto';
import { Crc64NvmeJs } from '@aws-sdk/checksums/crc';
import { describe, expect, it } from 'vitest';
import {
  Crc64Nvme,
  combineCrc64,
  crc64FromBase64,
  crc64nvme,
  crc64ToBase64,
} from '#shared/domain/crc64nvme.ts';

/** The AWS SDK's own implementation, as the reference S3 agrees with. */
const reference = async (data: Uint8Array): Promise<string> => {
  const crc = new Crc64NvmeJs();
  crc.update(data);
  return Buffer.from(await crc.digest()).toString('base64');
};

describe('CRC64NVME', () => {
  it('gives the catalogue check value of "123456789"', () => {
    expect(crc64nvme(new TextEncoder().encode('123456789')).toString(16)).toBe('ae8b14860a799888');
  });

  it('agrees with the AWS SDK on random data of awkward lengths, fed in uneven chunks', async () => {
    for (const length of [0, 1, 7, 8, 9, 1000, 65_537]) {
      const data = randomBytes(length);
      const crc = new Crc64Nvme();
      for (let i = 0; i < length; i += 13) crc.update(data.subarray(i, i + 13));
      expect(crc64ToBase64(crc.value())).toBe(await reference(data));
    }
  });

  it('agrees with the AWS SDK on large chunks, aligned or not (the sixteen-byte loop)', async () => {
    // Its own buffer, so offset 0 is 4-byte aligned and offset 1 is not.
    const data = new Uint8Array(randomBytes(1_000_037));
    for (const [offset, chunk] of [
      [0, 65_536],
      [0, 1_000_037],
      [1, 65_541],
      [4, 4099],
    ] as const) {
      const crc = new Crc64Nvme();
      for (let i = offset; i < data.length; i += chunk) crc.update(data.subarray(i, i + chunk));
      expect(crc64ToBase64(crc.value())).toBe(await reference(data.subarray(offset)));
    }
  });

  it('combines the checksums of parts into the whole file one, in any part sizes', async () => {
    const data = randomBytes(300_001);
    const cuts = [0, 100_000, 100_003, 250_000, 300_001];
    let whole: bigint | undefined;
    for (let i = 0; i < cuts.length - 1; i++) {
      const part = data.subarray(cuts[i], cuts[i + 1]);
      const crc = crc64nvme(part);
      whole = whole === undefined ? crc : combineCrc64(whole, crc, part.length);
    }
    expect(crc64ToBase64(whole ?? 0n)).toBe(await reference(data));
  });

  it('round-trips S3 base64 encoding', () => {
    const crc = crc64nvme(randomBytes(99));
    expect(crc64FromBase64(crc64ToBase64(crc))).toBe(crc);
  });
});
