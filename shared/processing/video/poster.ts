import sharp from 'sharp';
import { type DerivativeImage, processImage } from '../image.ts';

/** How a candidate frame looks: its mean luma and its spread (0–255 both). */
export interface FrameLook {
  readonly luma: number;
  readonly contrast: number;
}

/**
 * A frame worth showing is neither nearly black (a fade-in, a lens cap) nor nearly white nor
 * flat (a title card of one colour): thresholds on 8-bit luma.
 */
const DARKEST = 24;
const BRIGHTEST = 235;
const FLATTEST = 12;

const looksShowable = (look: FrameLook): boolean =>
  look.luma >= DARKEST && look.luma <= BRIGHTEST && look.contrast >= FLATTEST;

/** Mean luma and its standard deviation, from a greyscale reduction of the frame. */
export const lookOf = async (frame: Buffer): Promise<FrameLook> => {
  const stats = await sharp(frame).greyscale().stats();
  const channel = stats.channels[0];
  return { luma: channel?.mean ?? 0, contrast: channel?.stdev ?? 0 };
};

/**
 * Picks the poster among frames in time order: the showable frame with the most contrast (the
 * most detail), or the frame with the most contrast when none is showable (a dark film still
 * gets its least dark frame). Returns the index.
 */
export const choosePoster = (looks: readonly FrameLook[]): number => {
  if (looks.length === 0) throw new Error('No frame to choose a poster from');
  const showable = looks.map(looksShowable);
  const pool = showable.some(Boolean)
    ? looks.map((_, i) => i).filter((i) => showable[i])
    : [...looks.keys()];
  let best = pool[0] ?? 0;
  for (const i of pool) {
    if ((looks[i]?.contrast ?? 0) > (looks[best]?.contrast ?? 0)) best = i;
  }
  return best;
};

export interface Poster {
  /** Which frame was chosen. */
  readonly index: number;
  readonly look: FrameLook;
  /** The same `preview` (1024 px JPEG) and `thumbnail` (256 px WebP) an image gets. */
  readonly derivatives: readonly DerivativeImage[];
}

/**
 * The poster of a video from its candidate frames (JPEG, in time order): the frame
 * `choosePoster` picks, made into the image derivatives by the image code itself.
 */
export const makePoster = async (frames: readonly Buffer[]): Promise<Poster> => {
  const looks = await Promise.all(frames.map(lookOf));
  const index = choosePoster(looks);
  const frame = frames[index];
  const look = looks[index];
  if (!frame || !look) throw new Error('No frame to make a poster of');
  const { derivatives } = await processImage(frame);
  return { index, look, derivatives };
};
