import { checkDeclaredType } from '../domain/content-types.ts';
import type { Declared } from './pipeline.ts';
import { type ObjectContent, type ReadLimits, readObject } from './read-object.ts';

/** What every kind learns from an object's bytes before its own work. */
export interface CheckedCommon {
  readonly size: number;
  readonly sha256: string;
  /** The type the bytes show (for a text file, the declared text type). */
  readonly contentType: string;
}

export type CheckedUpload =
  | {
      readonly ok: true;
      readonly common: CheckedCommon;
      readonly content: ObjectContent;
    }
  | {
      readonly ok: false;
      readonly common: CheckedCommon;
      readonly status: 'FAILED' | 'REJECTED';
      readonly reason: string;
    };

/**
 * The checks every kind makes on an object's bytes, read once: size, SHA-256 and real type,
 * against what the uploader declared. Loads no kind's library (no sharp, no DuckDB), so every
 * kind's function can run it.
 */
export const checkUpload = async (
  body: AsyncIterable<Uint8Array>,
  declared: Declared,
  limits: ReadLimits,
  expectedSize?: number,
): Promise<CheckedUpload> => {
  const content = await readObject(body, limits, expectedSize);
  const common = { size: content.size, sha256: content.sha256, contentType: content.sniffed.mime };
  if (content.size === 0) {
    return { ok: false, common, status: 'FAILED', reason: 'The file is empty (0 bytes).' };
  }
  const typeCheck = checkDeclaredType(declared.contentType, content.sniffed);
  if (!typeCheck.ok) return { ok: false, common, status: 'REJECTED', reason: typeCheck.reason };
  const checked = { ...common, contentType: typeCheck.contentType };
  if (content.size !== declared.size) {
    return {
      ok: false,
      common: checked,
      status: 'REJECTED',
      reason: `The file has ${content.size} bytes, but ${declared.size} were declared.`,
    };
  }
  if (declared.checksumSha256 !== null && declared.checksumSha256 !== content.sha256) {
    return {
      ok: false,
      common: checked,
      status: 'REJECTED',
      reason: `The file's SHA-256 is ${content.sha256}, not the ${declared.checksumSha256} declared.`,
    };
  }
  return { ok: true, common: checked, content };
};
