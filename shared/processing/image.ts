import exifReader from 'exif-reader';
import sharp, { type Metadata } from 'sharp';
import { PermanentProcessingError } from '../domain/errors.ts';
import type { ImageMetadata } from '../domain/file-record.ts';

export interface ImageLimits {
  /** Largest width × height decoded; larger images fail before any pixel is decoded. */
  readonly maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxPixels: 100_000_000 };

/** A derivative made in memory, before it is stored. */
export interface DerivativeImage {
  readonly name: string;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

export interface ProcessedImage {
  readonly metadata: ImageMetadata;
  readonly derivatives: readonly DerivativeImage[];
}

/** The derivatives' sizes the README promises: a 256 px WebP thumbnail and a 1024 px JPEG preview. */
export const PREVIEW = { name: 'preview.jpg', size: 1024, contentType: 'image/jpeg' } as const;
export const THUMBNAIL = { name: 'thumbnail.webp', size: 256, contentType: 'image/webp' } as const;

type ExifValue = string | number;

/**
 * The EXIF fields worth keeping. GPS position and serial numbers are left out on purpose: they
 * identify people and devices, and the derivatives are written without any metadata at all.
 */
const pickExif = (raw: Buffer | undefined): Record<string, ExifValue> | undefined => {
  if (raw === undefined || raw.length === 0) return undefined;
  let parsed: ReturnType<typeof exifReader>;
  try {
    parsed = exifReader(raw);
  } catch {
    return undefined; // unreadable EXIF is common and never a reason to fail the image
  }
  const out: Record<string, ExifValue> = {};
  const put = (name: string, value: unknown): void => {
    if (typeof value === 'string' && value.trim() !== '') out[name] = value.trim().slice(0, 256);
    else if (typeof value === 'number' && Number.isFinite(value)) out[name] = value;
    else if (value instanceof Date && !Number.isNaN(value.getTime()))
      out[name] = value.toISOString();
  };
  put('make', parsed.Image?.Make);
  put('model', parsed.Image?.Model);
  put('software', parsed.Image?.Software);
  put('dateTimeOriginal', parsed.Photo?.DateTimeOriginal);
  put('exposureTime', parsed.Photo?.ExposureTime);
  put('fNumber', parsed.Photo?.FNumber);
  put('iso', parsed.Photo?.ISOSpeedRatings);
  put('focalLength', parsed.Photo?.FocalLength);
  put('lensModel', parsed.Photo?.LensModel);
  return Object.keys(out).length > 0 ? out : undefined;
};

/**
 * The image decoder's own words (libvips') stay in the cause, for the log: the reason a user
 * reads, and may be emailed, is ours.
 */
const decodeError = (error: unknown): PermanentProcessingError =>
  new PermanentProcessingError(
    'The image could not be decoded: it is damaged, cut short, or in a form the image library cannot read.',
    { cause: error },
  );

/**
 * Reads an image's header, refuses ones over the pixel limit, then makes the preview (auto-rotated
 * by EXIF orientation, shrunk on load) and the thumbnail from the preview, so the original is
 * decoded once.
 */
export const processImage = async (
  input: Buffer,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<ProcessedImage> => {
  let header: Metadata;
  try {
    header = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeError(error);
  }
  const width = header.width ?? 0;
  const height = header.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new PermanentProcessingError('The image has no dimensions in its header.');
  }
  if (width * height > limits.maxPixels) {
    throw new PermanentProcessingError(
      `The image is ${width} × ${height} pixels, over the limit of ${limits.maxPixels} pixels.`,
    );
  }
  const exif = pickExif(header.exif);
  const metadata: ImageMetadata = {
    format: header.format ?? 'unknown',
    width,
    height,
    ...(header.orientation !== undefined && { orientation: header.orientation }),
    ...(header.space !== undefined && { colorSpace: header.space }),
    hasAlpha: header.hasAlpha ?? false,
    ...(exif !== undefined && { exif }),
  };
  try {
    const preview = await sharp(input, { limitInputPixels: limits.maxPixels })
      .rotate()
      .resize({
        width: PREVIEW.size,
        height: PREVIEW.size,
        fit: 'inside',
        withoutEnlargement: true,
      })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    const thumbnail = await sharp(preview.data)
      .resize({
        width: THUMBNAIL.size,
        height: THUMBNAIL.size,
        fit: 'inside',
        withoutEnlargement: true,
      })
      .webp({ quality: 75 })
      .toBuffer({ resolveWithObject: true });
    return {
      metadata,
      derivatives: [
        {
          name: THUMBNAIL.name,
          contentType: THUMBNAIL.contentType,
          width: thumbnail.info.width,
          height: thumbnail.info.height,
          data: thumbnail.data,
        },
        {
          name: PREVIEW.name,
          contentType: PREVIEW.contentType,
          width: preview.info.width,
          height: preview.info.height,
          data: preview.data,
        },
      ],
    };
  } catch (error) {
    throw decodeError(error);
  }
};
