/**
 * The derivative lists show as a picture. The processor names it in shared/processing/image.ts
 * (THUMBNAIL); this copy keeps sharp's module out of the read API, and a unit test keeps the two
 * equal.
 */
export const THUMBNAIL_NAME = 'thumbnail.webp';
