/**
 * Cognito's Secure Remote Password sign-in (the user pool's USER_SRP_AUTH flow), the flow AWS
 * recommends for an app in a browser: the password never leaves the client, only a proof that
 * the client knows it. SRP-6a over the 3072-bit group of RFC 5054 with generator 2 and SHA-256,
 * as Cognito runs it: the multiplier k = H(N | g), the scrambler u = H(A | B), the private key
 * x = H(salt | H(poolName | userId | ":" | password)), numbers hashed as big-endian bytes with a
 * leading zero byte when their high bit is set, and a 16-byte key derived from the shared secret
 * with HKDF-SHA-256 (info "Caldera Derived Key") that signs the challenge's secret block with a
 * timestamp. Web Crypto and BigInt only: the same code in browsers and Node.js.
 */

const N = BigInt(
  '0x' +
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F' +
    '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510' +
    '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
    'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C' +
    'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF',
);
const G = 2n;

const subtle = (): SubtleCrypto => {
  const crypto = globalThis.crypto;
  if (!crypto?.subtle) {
    throw new Error('Sign-in needs Web Crypto (a secure context: https or localhost)');
  }
  return crypto.subtle;
};

/** `base ** exponent % modulus` by squaring, on BigInt. */
export const modPow = (base: bigint, exponent: bigint, modulus: bigint): bigint => {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
};

/** Big-endian bytes of a non-negative integer, with a leading zero byte when the high bit is set. */
export const padded = (n: bigint): Uint8Array => {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (/^[89a-f]/i.test(hex)) hex = `00${hex}`;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
};

const concat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const toBigInt = (bytes: Uint8Array): bigint =>
  bytes.length === 0
    ? 0n
    : BigInt(`0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`);

const sha256 = async (...parts: Uint8Array[]): Promise<Uint8Array> =>
  new Uint8Array(await subtle().digest('SHA-256', concat(...parts)));

const hmac = async (key: Uint8Array, ...parts: Uint8Array[]): Promise<Uint8Array> => {
  const imported = await subtle().importKey(
    'raw',
    concat(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await subtle().sign('HMAC', imported, concat(...parts)));
};

const base64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string): Uint8Array =>
  Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Cognito's timestamp: `EEE MMM d HH:mm:ss UTC yyyy`, in English, the day unpadded. */
export const srpTimestamp = (at: Date): string => {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[at.getUTCDay()]} ${MONTHS[at.getUTCMonth()]} ${at.getUTCDate()} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} UTC ${at.getUTCFullYear()}`;
};

/** The client's side of one sign-in: its secret `a` and public `A`. */
export interface SrpClient {
  /** SRP_A of InitiateAuth, in hex. */
  readonly srpA: string;
  /** The PASSWORD_VERIFIER challenge's responses, from its parameters. */
  respond(
    challenge: {
      readonly SALT: string;
      readonly SRP_B: string;
      readonly SECRET_BLOCK: string;
      readonly USER_ID_FOR_SRP: string;
    },
    password: string,
    now?: Date,
  ): Promise<Record<string, string>>;
}

/**
 * Starts an SRP sign-in against the pool `userPoolId` (`<region>_<name>`): picks a random secret
 * and gives SRP_A; `respond` turns Cognito's challenge and the password into the proof.
 * `randomA` is for tests that need a fixed secret.
 */
export const startSrp = (userPoolId: string, randomA?: bigint): SrpClient => {
  const poolName = userPoolId.split('_').slice(1).join('_');
  if (!poolName) throw new Error(`${userPoolId} is not a user pool id (region_name)`);
  let a = randomA ?? 0n;
  let bigA = 0n;
  while (bigA === 0n) {
    if (randomA === undefined) {
      a = toBigInt(globalThis.crypto.getRandomValues(new Uint8Array(128))) % N;
    }
    bigA = modPow(G, a, N);
  }
  return {
    srpA: bigA.toString(16),
    respond: async (challenge, password, now = new Date()) => {
      const bigB = BigInt(`0x${challenge.SRP_B}`);
      if (bigB % N === 0n) throw new Error('Cognito answered an invalid SRP_B');
      const k = toBigInt(await sha256(padded(N), padded(G)));
      const u = toBigInt(await sha256(padded(bigA), padded(bigB)));
      if (u === 0n) throw new Error('Cognito answered an SRP_B that makes u zero');
      const userId = challenge.USER_ID_FOR_SRP;
      const inner = await sha256(utf8(`${poolName}${userId}:${password}`));
      const x = toBigInt(await sha256(padded(BigInt(`0x${challenge.SALT}`)), inner));
      // S = (B - k * g^x) ^ (a + u * x) mod N, kept non-negative.
      const base = (((bigB - k * modPow(G, x, N)) % N) + N) % N;
      const secret = modPow(base, a + u * x, N);
      const prk = await hmac(padded(u), padded(secret));
      const key = (await hmac(prk, utf8('Caldera Derived Key'), new Uint8Array([1]))).slice(0, 16);
      const timestamp = srpTimestamp(now);
      const signature = await hmac(
        key,
        utf8(poolName),
        utf8(userId),
        fromBase64(challenge.SECRET_BLOCK),
        utf8(timestamp),
      );
      return {
        USERNAME: userId,
        PASSWORD_CLAIM_SECRET_BLOCK: challenge.SECRET_BLOCK,
        PASSWORD_CLAIM_SIGNATURE: base64(signature),
        TIMESTAMP: timestamp,
      };
    },
  };
};
