import type { SniffedType } from '../domain/content-types.ts';

/** How many leading bytes `sniff` looks at; callers collect at least this many when they can. */
export const SNIFF_BYTES = 4096;

const startsWith = (head: Uint8Array, signature: readonly number[], offset = 0): boolean =>
  head.length >= offset + signature.length &&
  signature.every((byte, i) => head[offset + i] === byte);

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

const type = (mime: string, kind: SniffedType['kind'], description: string): SniffedType => ({
  mime,
  kind,
  description,
});

interface Signature {
  readonly bytes: readonly number[];
  readonly offset?: number;
  readonly type: SniffedType;
}

const SIGNATURES: readonly Signature[] = [
  { bytes: [0xff, 0xd8, 0xff], type: type('image/jpeg', 'image', 'a JPEG image') },
  {
    bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    type: type('image/png', 'image', 'a PNG image'),
  },
  { bytes: ascii('GIF87a'), type: type('image/gif', 'image', 'a GIF image') },
  { bytes: ascii('GIF89a'), type: type('image/gif', 'image', 'a GIF image') },
  { bytes: [0x49, 0x49, 0x2a, 0x00], type: type('image/tiff', 'image', 'a TIFF image') },
  { bytes: [0x4d, 0x4d, 0x00, 0x2a], type: type('image/tiff', 'image', 'a TIFF image') },
  { bytes: ascii('%PDF-'), type: type('application/pdf', 'document', 'a PDF document') },
  { bytes: [0x50, 0x4b, 0x03, 0x04], type: type('application/zip', 'archive', 'a ZIP archive') },
  { bytes: [0x50, 0x4b, 0x05, 0x06], type: type('application/zip', 'archive', 'a ZIP archive') },
  { bytes: [0x1f, 0x8b], type: type('application/gzip', 'archive', 'a gzip archive') },
  {
    bytes: [0x28, 0xb5, 0x2f, 0xfd],
    type: type('application/zstd', 'archive', 'a Zstandard archive'),
  },
  { bytes: ascii('BZh'), type: type('application/x-bzip2', 'archive', 'a bzip2 archive') },
  {
    bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    type: type('application/x-xz', 'archive', 'an xz archive'),
  },
  {
    bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c],
    type: type('application/x-7z-compressed', 'archive', 'a 7-Zip archive'),
  },
  {
    bytes: ascii('ustar'),
    offset: 257,
    type: type('application/x-tar', 'archive', 'a tar archive'),
  },
  {
    bytes: [0x7f, 0x45, 0x4c, 0x46],
    type: type('application/x-executable', 'executable', 'an ELF executable'),
  },
  {
    bytes: [0xfe, 0xed, 0xfa, 0xce],
    type: type('application/x-mach-binary', 'executable', 'a Mach-O executable'),
  },
  {
    bytes: [0xfe, 0xed, 0xfa, 0xcf],
    type: type('application/x-mach-binary', 'executable', 'a Mach-O executable'),
  },
  {
    bytes: [0xce, 0xfa, 0xed, 0xfe],
    type: type('application/x-mach-binary', 'executable', 'a Mach-O executable'),
  },
  {
    bytes: [0xcf, 0xfa, 0xed, 0xfe],
    type: type('application/x-mach-binary', 'executable', 'a Mach-O executable'),
  },
  {
    bytes: [0xca, 0xfe, 0xba, 0xbe],
    type: type('application/x-mach-binary', 'executable', 'a Mach-O or Java executable'),
  },
  {
    bytes: [0x00, 0x61, 0x73, 0x6d],
    type: type('application/wasm', 'executable', 'a WebAssembly module'),
  },
  { bytes: ascii('#!'), type: type('text/x-shellscript', 'executable', 'an executable script') },
];

const ISO_BMFF_BRANDS: Record<string, SniffedType> = {
  avif: type('image/avif', 'image', 'an AVIF image'),
  avis: type('image/avif', 'image', 'an AVIF image'),
  heic: type('image/heic', 'image', 'a HEIC image'),
  heix: type('image/heic', 'image', 'a HEIC image'),
  mif1: type('image/heif', 'image', 'a HEIF image'),
  msf1: type('image/heif', 'image', 'a HEIF image'),
  qt: type('video/quicktime', 'media', 'a QuickTime video'),
  M4A: type('audio/mp4', 'media', 'an M4A audio file'),
};
const MP4 = type('video/mp4', 'media', 'an MP4 video');

const sniffIsoBmff = (head: Uint8Array): SniffedType | undefined => {
  if (!startsWith(head, ascii('ftyp'), 4) || head.length < 12) return undefined;
  const brand = Buffer.from(head.subarray(8, 12)).toString('latin1').trim();
  return ISO_BMFF_BRANDS[brand] ?? MP4;
};

const sniffRiff = (head: Uint8Array): SniffedType | undefined => {
  if (!startsWith(head, ascii('RIFF'))) return undefined;
  if (startsWith(head, ascii('WEBP'), 8)) return type('image/webp', 'image', 'a WebP image');
  if (startsWith(head, ascii('WAVE'), 8)) return type('audio/wav', 'media', 'a WAV audio file');
  if (startsWith(head, ascii('AVI '), 8)) return type('video/x-msvideo', 'media', 'an AVI video');
  return type('application/octet-stream', 'binary', 'a RIFF container');
};

const MPEG_TS_PACKET = 188;

/**
 * Media containers without an ISO BMFF or RIFF header: Matroska/WebM (EBML), Ogg, FLAC, MPEG-TS
 * (a sync byte every 188 bytes), MP3 (an ID3 tag or an MPEG audio frame header) and ADTS AAC.
 * The video workflow's probe reads the streams; this only routes the file and checks its
 * declared type.
 */
const sniffMedia = (head: Uint8Array): SniffedType | undefined => {
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    // The EBML header names its DocType within its first few dozen bytes.
    const header = Buffer.from(head.subarray(0, 64)).toString('latin1');
    return header.includes('webm')
      ? type('video/webm', 'media', 'a WebM video')
      : type('video/x-matroska', 'media', 'a Matroska video');
  }
  if (startsWith(head, ascii('OggS'))) return type('audio/ogg', 'media', 'an Ogg media file');
  if (startsWith(head, ascii('fLaC'))) return type('audio/flac', 'media', 'a FLAC audio file');
  if (startsWith(head, ascii('ID3'))) return type('audio/mpeg', 'media', 'an MP3 audio file');
  const packets = Math.floor(head.length / MPEG_TS_PACKET);
  if (packets >= 2) {
    let synced = true;
    for (let i = 0; i < Math.min(packets, 8) && synced; i++) {
      synced = head[i * MPEG_TS_PACKET] === 0x47;
    }
    if (synced) return type('video/mp2t', 'media', 'an MPEG transport stream');
  }
  // An MPEG audio frame header: 11 set sync bits, then a layer, bit rate and sample rate that
  // are not the reserved values (which random bytes starting 0xFF rarely all avoid).
  const [b0, b1, b2] = [head[0] ?? 0, head[1] ?? 0, head[2] ?? 0];
  if (b0 === 0xff && (b1 & 0xe0) === 0xe0 && head.length >= 4) {
    const layer = (b1 >> 1) & 0x03;
    const version = (b1 >> 3) & 0x03;
    if (layer === 0 && version >= 2) {
      // Layer bits 00 with the MPEG-2/4 ID: ADTS, AAC's raw stream.
      if ((b1 & 0xf6) === 0xf0) return type('audio/aac', 'media', 'an AAC audio stream');
      return undefined;
    }
    if (layer !== 0 && version !== 1 && b2 >> 4 !== 0x0f && ((b2 >> 2) & 0x03) !== 0x03) {
      return type('audio/mpeg', 'media', 'an MP3 audio file');
    }
  }
  return undefined;
};

const WINDOWS_EXECUTABLE = type(
  'application/vnd.microsoft.portable-executable',
  'executable',
  'a Windows executable',
);

/** "MZ" alone is too weak (text can start with it): require the PE header it points to. */
const sniffPortableExecutable = (head: Uint8Array): SniffedType | undefined => {
  if (!startsWith(head, ascii('MZ')) || head.length < 64) return undefined;
  const peOffset = Buffer.from(head.buffer, head.byteOffset, head.length).readUInt32LE(0x3c);
  if (startsWith(head, [0x50, 0x45, 0x00, 0x00], peOffset)) return WINDOWS_EXECUTABLE;
  // A DOS stub whose PE header lies past the sniffed bytes is still an executable.
  return peOffset >= head.length && !isLikelyText(head) ? WINDOWS_EXECUTABLE : undefined;
};

const HTML_MARKERS =
  /^<(?:!doctype\s+html|html|head|body|script|iframe|meta|title|style|div|a\s|p>|h1|table|form|img|br|b>|font)\b/i;

const isLikelyText = (head: Uint8Array): boolean => {
  if (head.includes(0)) return false;
  // A multi-byte character cut at the end of the head is fine; anything else invalid is binary.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let trim = 0; trim < 4 && trim < head.length; trim++) {
    try {
      decoder.decode(head.subarray(0, head.length - trim));
      return true;
    } catch {
      // try again without a possibly cut last character
    }
  }
  return false;
};

const sniffText = (head: Uint8Array): SniffedType | undefined => {
  if (!isLikelyText(head)) return undefined;
  const text = new TextDecoder('utf-8')
    .decode(head)
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('<')) {
    const lower = text.toLowerCase();
    const withoutProlog = lower
      .replace(/^<\?xml[^>]*>\s*/, '')
      .replace(/^(?:<!--[\s\S]*?-->\s*)+/, '');
    if (/^<svg[\s>]/.test(withoutProlog) || /^<!doctype\s+svg/.test(withoutProlog)) {
      return type('image/svg+xml', 'markup', 'an SVG document');
    }
    if (HTML_MARKERS.test(withoutProlog)) return type('text/html', 'markup', 'an HTML document');
    if (lower.startsWith('<?xml')) return type('application/xml', 'text', 'an XML document');
  }
  return type('text/plain', 'text', 'text');
};

/**
 * The type that a file's leading bytes show. Magic numbers first, then text, which is split into
 * markup a browser would run (HTML, SVG) and plain text; anything else is opaque binary.
 */
export const sniff = (head: Uint8Array): SniffedType => {
  if (head.length === 0) return type('application/x-empty', 'binary', 'empty');
  for (const signature of SIGNATURES) {
    if (startsWith(head, signature.bytes, signature.offset ?? 0)) return signature.type;
  }
  return (
    sniffPortableExecutable(head) ??
    sniffIsoBmff(head) ??
    sniffRiff(head) ??
    sniffMedia(head) ??
    sniffText(head) ??
    type('application/octet-stream', 'binary', 'binary data')
  );
};
