import { checkDeclaredType } from '../domain/content-types.ts';
import type { KindResult, KindWork } from './kind-pipeline.ts';
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

/**
 * The shared checks on a kind's object version, opened from its first byte, against what its
 * record says was declared. `maxImageBytes` 0 keeps no bytes in memory (every kind but image).
 */
export const checkWork = async (
  work: KindWork,
  limits: ReadLimits = { maxImageBytes: 0 },
): Promise<CheckedUpload> => {
  const object = await work.open();
  return checkUpload(
    object.body,
    {
      contentType: work.file.declaredContentType,
      size: work.file.declaredSize,
      checksumSha256: work.file.checksumSha256,
    },
    limits,
    object.contentLength,
  );
};

/**
 * For the kinds that read text (tabular data, logs): bytes that are neither text nor gzip are
 * REJECTED, naming what they are and what the kind takes; undefined when they may go on.
 */
export const notText = (
  checked: Extract<CheckedUpload, { ok: true }>,
  kindTakes: string,
): KindResult | undefined => {
  const sniffed = checked.content.sniffed;
  if (sniffed.kind === 'text' || sniffed.mime === 'application/gzip') return undefined;
  return {
    ...checked.common,
    status: 'REJECTED',
    reason: `The file's bytes are ${sniffed.description} (${sniffed.mime}), not ${kindTakes}.`,
  };
};
