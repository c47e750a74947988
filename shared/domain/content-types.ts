/**
 * What a file's bytes say it is (see processing/sniff.ts) and whether that agrees with what the
 * uploader declared. Decisions are made on the sniffed type, never on the name or the header.
 */
export type SniffedKind =
  | 'image'
  | 'document'
  | 'archive'
  | 'media'
  | 'text'
  | 'markup'
  | 'executable'
  | 'binary';

export interface SniffedType {
  /** The MIME type the bytes show. */
  readonly mime: string;
  readonly kind: SniffedKind;
  /** Short human name used in reasons ("an ELF executable"). */
  readonly description: string;
}

/** Declared types accepted by default; a stage may narrow or widen this list. */
export const DEFAULT_ALLOWED_CONTENT_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
  'application/pdf',
  'text/plain',
  'text/csv',
  'text/tab-separated-values',
  'application/json',
  'application/x-ndjson',
  'application/zip',
  'application/gzip',
  'application/octet-stream',
];

/** Image formats the processor makes derivatives of (all decodable by sharp's libvips). */
export const PROCESSABLE_IMAGE_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
];

const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'application/x-gzip': 'application/gzip',
  'application/x-zip-compressed': 'application/zip',
  'text/x-log': 'text/plain',
};

/** `Image/JPEG; charset=x` → `image/jpeg`; undefined when it is not a MIME type at all. */
export const normaliseContentType = (value: string): string | undefined => {
  const base = value.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(base)) {
    return undefined;
  }
  return ALIASES[base] ?? base;
};

/** Declared types whose bytes are text of some sort. */
const TEXT_DECLARATIONS = new Set([
  'text/plain',
  'text/csv',
  'application/json',
  'application/x-ndjson',
]);

/**
 * Whether bytes of `sniffed` may be stored as `declared`. Returns a reason a person can read
 * when not. Executables and markup a browser would run (HTML, SVG) are accepted only when the
 * declared type is exactly theirs, which no default allowlist contains.
 */
export const checkDeclaredType = (
  declared: string,
  sniffed: SniffedType,
): { ok: true; contentType: string } | { ok: false; reason: string } => {
  const mismatch = {
    ok: false as const,
    reason: `The file's bytes are ${sniffed.description} (${sniffed.mime}), but it was declared as ${declared}.`,
  };
  if (declared === sniffed.mime) return { ok: true, contentType: sniffed.mime };
  if (sniffed.kind === 'executable' || sniffed.kind === 'markup') return mismatch;
  if (TEXT_DECLARATIONS.has(declared) || declared.startsWith('text/')) {
    return sniffed.kind === 'text' ? { ok: true, contentType: declared } : mismatch;
  }
  if (declared === 'application/octet-stream') {
    return { ok: true, contentType: sniffed.mime };
  }
  return mismatch;
};
