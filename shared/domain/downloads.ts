import type { FileStatus } from './file-record.ts';

/**
 * Types a browser shows without running anything: raster images, PDF, and the video and audio
 * a `<video>` or `<audio>` element plays (a video's web rendition is `video/mp4`; an audio file
 * is served as it is). A presigned GET answers range requests, so players can seek.
 */
const INLINE_TYPES = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'application/pdf',
  'video/mp4',
  'video/webm',
  'audio/mpeg',
  'audio/mp4',
  'audio/aac',
  'audio/ogg',
  'audio/wav',
  'audio/flac',
  'audio/webm',
]);

/**
 * How a download is served: the type the bytes showed, shown inline only when a browser cannot
 * execute it; anything else (HTML, SVG, scripts, text, archives) and anything not PROCESSED is
 * an attachment of opaque bytes.
 */
export const downloadDisposition = (
  status: FileStatus,
  contentType: string,
): { readonly contentType: string; readonly kind: 'inline' | 'attachment' } => {
  if (status !== 'PROCESSED')
    return { contentType: 'application/octet-stream', kind: 'attachment' };
  return { contentType, kind: INLINE_TYPES.has(contentType) ? 'inline' : 'attachment' };
};

/** RFC 6266 `Content-Disposition` with an ASCII fallback and the exact UTF-8 name. */
export const contentDisposition = (kind: 'inline' | 'attachment', filename: string): string => {
  const fallback = filename.replace(/[^\x20-\x7e]/gu, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
};
