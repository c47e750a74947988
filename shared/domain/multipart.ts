import { HttpError } from './errors.ts';

/** S3's own bounds on a multipart upload. */
export const S3_MIN_PART_BYTES = 5 * 1024 ** 2;
export const S3_MAX_PART_BYTES = 5 * 1024 ** 3;
export const S3_MAX_PARTS = 10_000;
/** A presigned POST carries at most 5 GB; anything larger must be multipart. */
export const S3_MAX_POST_BYTES = 5 * 1024 ** 3;
/** Most part URLs signed in one request: a browser asks for a window of parts, not all 10,000. */
export const MAX_PARTS_PER_SIGN = 100;

/** The stage's multipart settings (infra/stages.ts). */
export interface MultipartSettings {
  /** Files of at least this many bytes get a multipart session instead of a presigned POST. */
  readonly thresholdBytes: number;
  /** The smallest part the server hands out (S3's own floor is 5 MiB). */
  readonly minPartBytes: number;
}

/** How a file of a given size is cut: every part `partSize` bytes, the last one the rest. */
export interface PartPlan {
  readonly partSize: number;
  readonly partCount: number;
}

const MIB = 1024 ** 2;

/**
 * The part size for `size` bytes: the stage's minimum, or larger (in whole MiB) when 10,000
 * parts of the minimum would not hold the file. Chosen by the server, so a client cannot ask
 * for a plan S3 would refuse at completion.
 */
export const planParts = (size: number, minPartBytes: number): PartPlan => {
  if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`Invalid size ${size}`);
  const floor = Math.max(minPartBytes, S3_MIN_PART_BYTES);
  const needed = Math.ceil(size / S3_MAX_PARTS);
  const partSize = needed <= floor ? floor : Math.ceil(needed / MIB) * MIB;
  if (partSize > S3_MAX_PART_BYTES) {
    throw new Error(`${size} bytes do not fit in ${S3_MAX_PARTS} parts of at most 5 GiB`);
  }
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
};

/** The size part `partNumber` (1-based) must have under `plan` for a file of `size` bytes. */
export const expectedPartSize = (plan: PartPlan, size: number, partNumber: number): number =>
  partNumber < plan.partCount ? plan.partSize : size - plan.partSize * (plan.partCount - 1);

/** Whether a file of this size is uploaded in parts. */
export const usesMultipart = (size: number, settings: MultipartSettings): boolean =>
  size >= settings.thresholdBytes;

/**
 * Checks stage settings once, at synth time and at a function's cold start: a threshold above
 * what one POST can carry or parts under S3's floor would fail only on a user's large file.
 */
export const checkMultipartSettings = (settings: MultipartSettings, maxUploadBytes: number) => {
  if (settings.thresholdBytes > S3_MAX_POST_BYTES) {
    throw new Error('multipart threshold: a presigned POST carries at most 5 GiB');
  }
  if (settings.minPartBytes < S3_MIN_PART_BYTES || settings.minPartBytes > S3_MAX_PART_BYTES) {
    throw new Error('minimum part size: S3 takes parts of 5 MiB to 5 GiB');
  }
  if (maxUploadBytes > S3_MAX_PARTS * S3_MAX_PART_BYTES) {
    throw new Error('largest upload: over what 10,000 parts of 5 GiB hold');
  }
  if (maxUploadBytes >= S3_MAX_POST_BYTES && settings.thresholdBytes > maxUploadBytes) {
    throw new Error('largest upload: files over 5 GiB need the multipart threshold below it');
  }
};

/**
 * Part numbers a client asks to sign: whole numbers within the plan, no repeats, at most
 * `MAX_PARTS_PER_SIGN`. Each problem is a 400 that names the number.
 */
export const parsePartNumbers = (value: unknown, plan: PartPlan): number[] => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError('BAD_REQUEST', 'partNumbers: must be a non-empty array of part numbers');
  }
  if (value.length > MAX_PARTS_PER_SIGN) {
    throw new HttpError(
      'BAD_REQUEST',
      `partNumbers: at most ${MAX_PARTS_PER_SIGN} parts per request, not ${value.length}`,
    );
  }
  const seen = new Set<number>();
  for (const n of value) {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > plan.partCount) {
      throw new HttpError(
        'BAD_REQUEST',
        `partNumbers: ${JSON.stringify(n)} is not a part of this upload (1 to ${plan.partCount})`,
      );
    }
    if (seen.has(n)) throw new HttpError('BAD_REQUEST', `partNumbers: ${n} is repeated`);
    seen.add(n);
  }
  return [...seen].sort((a, b) => a - b);
};

/** A part as S3 lists it. */
export interface StoredPart {
  readonly partNumber: number;
  readonly size: number;
  readonly etag: string;
  /** S3's CRC64NVME of the part (base64), when it computed one. */
  readonly checksumCrc64nvme?: string;
}

/**
 * What keeps an upload from completing: parts missing, or parts of another size than the plan
 * (a part sent twice with other bytes keeps only the last). Empty when it can complete.
 */
export const partProblems = (parts: readonly StoredPart[], plan: PartPlan, size: number) => {
  const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
  const missing: number[] = [];
  const wrongSize: string[] = [];
  for (let n = 1; n <= plan.partCount; n++) {
    const part = byNumber.get(n);
    if (!part) missing.push(n);
    else if (part.size !== expectedPartSize(plan, size, n)) {
      wrongSize.push(`part ${n} has ${part.size} bytes, not ${expectedPartSize(plan, size, n)}`);
    }
  }
  const extra = parts.filter((p) => p.partNumber > plan.partCount).map((p) => p.partNumber);
  const problems: string[] = [];
  if (missing.length > 0) {
    const shown = missing.slice(0, 20).join(', ');
    problems.push(
      `parts missing: ${shown}${missing.length > 20 ? ` and ${missing.length - 20} more` : ''}`,
    );
  }
  problems.push(...wrongSize.slice(0, 20));
  if (extra.length > 0) problems.push(`parts beyond the plan: ${extra.join(', ')}`);
  return problems;
};

/** A CRC64NVME as S3 writes it: eight bytes in base64. */
export const isCrc64Base64 = (value: unknown): value is string =>
  typeof value === 'string' && /^[A-Za-z0-9+/]{11}=$/.test(value);
