/**
 * CRC-64/NVME (the checksum S3 calls CRC64NVME): reflected polynomial 0x9A6C9329AC4BC9B5, all
 * ones in and out. Written here rather than taken from the AWS SDK so the browser bundle carries
 * no SDK. The state is two 32-bit halves because JavaScript has no fast 64-bit integers (BigInt
 * is far too slow per byte), and eight tables let the loop take eight bytes a step.
 */
const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;

const makeTables = (): { hi: Uint32Array[]; lo: Uint32Array[] } => {
  const hi = Array.from({ length: 8 }, () => new Uint32Array(256));
  const lo = Array.from({ length: 8 }, () => new Uint32Array(256));
  const hi0 = hi[0] as Uint32Array;
  const lo0 = lo[0] as Uint32Array;
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let bit = 0; bit < 8; bit++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h >>>= 1;
      if (carry) {
        h = (h ^ POLY_HI) >>> 0;
        l = (l ^ POLY_LO) >>> 0;
      }
    }
    hi0[n] = h;
    lo0[n] = l;
  }
  // Table k advances a byte through k further zero bytes: T[k][n] = T[0][low byte] ^ (T[k-1][n] >> 8).
  for (let k = 1; k < 8; k++) {
    const ph = hi[k - 1] as Uint32Array;
    const pl = lo[k - 1] as Uint32Array;
    const th = hi[k] as Uint32Array;
    const tl = lo[k] as Uint32Array;
    for (let n = 0; n < 256; n++) {
      const h = ph[n] as number;
      const l = pl[n] as number;
      const index = l & 0xff;
      th[n] = ((h >>> 8) ^ (hi0[index] as number)) >>> 0;
      tl[n] = (((l >>> 8) | (h << 24)) ^ (lo0[index] as number)) >>> 0;
    }
  }
  return { hi, lo };
};

let tables: { hi: Uint32Array[]; lo: Uint32Array[] } | undefined;

/** A running CRC-64/NVME: `update` with each chunk in order, then `digest`. */
export class Crc64Nvme {
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(data: Uint8Array): this {
    tables ??= makeTables();
    const [h0, h1, h2, h3, h4, h5, h6, h7] = tables.hi as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    const [l0, l1, l2, l3, l4, l5, l6, l7] = tables.lo as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint32Array,
    ];
    let hi = this.hi;
    let lo = this.lo;
    let i = 0;
    // Whole 32-bit words straight from memory where the bytes are aligned (little-endian, as
    // every platform that runs this is): half the loads and no shifting bytes together.
    const aligned = (data.byteOffset & 3) === 0;
    const words = aligned
      ? new Uint32Array(data.buffer, data.byteOffset, (data.length >>> 3) << 1)
      : undefined;
    if (words) {
      for (let w = 0; w < words.length; w += 2) {
        const a = lo ^ (words[w] as number);
        const b = hi ^ (words[w + 1] as number);
        hi =
          (h7[a & 0xff] as number) ^
          (h6[(a >>> 8) & 0xff] as number) ^
          (h5[(a >>> 16) & 0xff] as number) ^
          (h4[a >>> 24] as number) ^
          (h3[b & 0xff] as number) ^
          (h2[(b >>> 8) & 0xff] as number) ^
          (h1[(b >>> 16) & 0xff] as number) ^
          (h0[b >>> 24] as number);
        lo =
          (l7[a & 0xff] as number) ^
          (l6[(a >>> 8) & 0xff] as number) ^
          (l5[(a >>> 16) & 0xff] as number) ^
          (l4[a >>> 24] as number) ^
          (l3[b & 0xff] as number) ^
          (l2[(b >>> 8) & 0xff] as number) ^
          (l1[(b >>> 16) & 0xff] as number) ^
          (l0[b >>> 24] as number);
      }
      i = words.length << 2;
    }
    for (; i < data.length; i++) {
      const index = (lo ^ (data[i] as number)) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ (l0[index] as number);
      hi = (hi >>> 8) ^ (h0[index] as number);
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** The checksum as an unsigned 64-bit integer. */
  value(): bigint {
    return (BigInt((this.hi ^ 0xffffffff) >>> 0) << 32n) | BigInt((this.lo ^ 0xffffffff) >>> 0);
  }
}

const MASK = (1n << 64n) - 1n;
const REFLECTED_POLY = (BigInt(POLY_HI) << 32n) | BigInt(POLY_LO);
const TOP = 1n << 63n;

/** a·b modulo the polynomial, in the reflected bit order the CRC uses. */
const multiply = (a: bigint, b: bigint): bigint => {
  let product = 0n;
  let m = TOP;
  let x = b;
  for (; m !== 0n; m >>= 1n) {
    if ((a & m) !== 0n) product ^= x;
    x = x & 1n ? (x >> 1n) ^ REFLECTED_POLY : x >> 1n;
  }
  return product & MASK;
};

/** x^(8·bytes) modulo the polynomial, by squaring. */
const shiftFor = (bytes: number): bigint => {
  let result = TOP; // x^0
  let square = TOP >> 1n; // x^1
  let n = BigInt(bytes) * 8n;
  while (n > 0n) {
    if (n & 1n) result = multiply(result, square);
    square = multiply(square, square);
    n >>= 1n;
  }
  return result;
};

/**
 * The CRC of A followed by B from the CRCs of A and B and B's length, so parts read in any order
 * (and parts hashed before a page reload) still give the whole file's checksum.
 */
export const combineCrc64 = (crcA: bigint, crcB: bigint, lengthB: number): bigint =>
  lengthB === 0 ? crcA : (multiply(crcA, shiftFor(lengthB)) ^ crcB) & MASK;

/** S3's encoding of a CRC64NVME: the eight big-endian bytes in base64. */
export const crc64ToBase64 = (crc: bigint): string => {
  let binary = '';
  for (let shift = 56n; shift >= 0n; shift -= 8n) {
    binary += String.fromCharCode(Number((crc >> shift) & 0xffn));
  }
  return btoa(binary);
};

/** The CRC-64/NVME of one buffer. */
export const crc64nvme = (data: Uint8Array): bigint => new Crc64Nvme().update(data).value();

/** The inverse of `crc64ToBase64`. */
export const crc64FromBase64 = (value: string): bigint => {
  const binary = atob(value);
  if (binary.length !== 8) throw new Error('A CRC64NVME is eight bytes');
  let crc = 0n;
  for (let i = 0; i < 8; i++) crc = (crc << 8n) | BigInt(binary.charCodeAt(i));
  return crc;
};
