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

/**
 * Video and audio containers the video workflow probes, by the family of bytes they share: an
 * uploader's name for a file of one family may be any of its types (a phone's `.m4a` is
 * `audio/mp4` or `audio/x-m4a`, a WebM audio `audio/webm`), which the sniffer cannot tell apart
 * from the first bytes alone; the probe reads the streams.
 */
const MEDIA_FAMILIES: Readonly<Record<string, readonly string[]>> = {
  'video/mp4': ['video/mp4', 'video/quicktime', 'video/x-m4v', 'audio/mp4', 'audio/x-m4a'],
  'video/webm': ['video/webm', 'audio/webm', 'video/x-matroska', 'audio/x-matroska'],
  'video/mp2t': ['video/mp2t'],
  'audio/mpeg': ['audio/mpeg'],
  'audio/aac': ['audio/aac', 'audio/x-aac'],
  'audio/wav': ['audio/wav', 'audio/x-wav', 'audio/wave'],
  'audio/flac': ['audio/flac', 'audio/x-flac'],
  'audio/ogg': ['audio/ogg', 'video/ogg', 'application/ogg', 'audio/opus'],
};
/** The family (its first type) each media type belongs to. */
const MEDIA_FAMILY_OF: ReadonlyMap<string, string> = new Map(
  Object.entries(MEDIA_FAMILIES).flatMap(([family, types]) => types.map((t) => [t, family])),
);

/** Every video and audio type an upload may declare. */
export const MEDIA_CONTENT_TYPES: readonly string[] = Object.values(MEDIA_FAMILIES).flat();

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
  ...MEDIA_CONTENT_TYPES,
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
  'audio/mp3': 'audio/mpeg',
  'audio/vnd.wave': 'audio/wav',
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
  const family = MEDIA_FAMILY_OF.get(sniffed.mime);
  if (
    sniffed.kind === 'media' &&
    family !== undefined &&
    MEDIA_FAMILY_OF.get(declared) === family
  ) {
    // The declared name is the more precise one within a family (audio/mp4 for an M4A).
    return { ok: true, contentType: declared };
  }
  if (TEXT_DECLARATIONS.has(declared) || declared.startsWith('text/')) {
    return sniffed.kind === 'text' ? { ok: true, contentType: declared } : mismatch;
  }
  if (declared === 'application/octet-stream') {
    return { ok: true, contentType: sniffed.mime };
  }
  return mismatch;
};
