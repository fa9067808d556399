import type { Clip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';
import { drawText, measureText } from './bitmap-font.js';
import { type RgbImage, writePng } from './write-png.js';

/** One row of a sheet: a clip, or several clips side by side (e.g. one scene at d, 2d and 4d). */
export type ContactSheetRow = Clip | readonly Clip[];

export interface ContactSheetOptions {
  /** Frames shown per clip, evenly spaced from first to last (default 4; capped at the clip length). */
  readonly framesPerClip?: number;
  /** Optional text label drawn above each row (same order as the rows). */
  readonly labels?: readonly (string | undefined)[];
  /**
   * Display height every clip is brought to by integer nearest-neighbour upscaling before
   * `scale` (default: 64, or the tallest clip if taller). A 32-row clip next to a 128-row one
   * is shown 4x enlarged, pixel for pixel, so the two compare at the same size.
   */
  readonly cellHeight?: number;
  /** Extra integer upscaling of everything (frames and text), default 1. */
  readonly scale?: number;
}

const MARGIN = 6;
const FRAME_GAP = 2;
const CLIP_GAP = 10;
const ROW_GAP = 8;
const LABEL_GAP = 3;
const SHEET_RGB = [24, 24, 28] as const;
const LABEL_RGB = [235, 235, 235] as const;

/**
 * Lays clips out as an RGB image: one row per entry, `framesPerClip` evenly spaced frames per
 * clip, an optional label above each row in the built-in bitmap font. All scaling is by
 * integers with nearest-neighbour sampling, so pixels stay crisp and labels legible.
 */
export function contactSheet(rows: readonly ContactSheetRow[], options: ContactSheetOptions = {}): RgbImage {
  if (rows.length === 0) throw new CascadeError('BAD_ARGUMENT', 'contact sheet needs at least one clip');
  const framesPerClip = options.framesPerClip ?? 4;
  const scale = options.scale ?? 1;
  for (const [name, v] of [
    ['framesPerClip', framesPerClip],
    ['scale', scale],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new CascadeError('BAD_ARGUMENT', `contact sheet ${name} is ${v}; expected a positive integer`, {
        path: name,
      });
    }
  }
  const labels = options.labels ?? [];
  if (labels.length > rows.length) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `contact sheet has ${labels.length} labels for ${rows.length} rows; give at most one label per row`,
      {
        path: 'labels',
      },
    );
  }
  const rowClips = rows.map((r) => (Array.isArray(r) ? (r as readonly Clip[]) : [r as Clip]));
  const tallest = Math.max(...rowClips.flat().map((c) => c.height));
  const target = Math.max(options.cellHeight ?? 64, tallest);
  const zoom = (c: Clip): number => Math.max(1, Math.floor(target / c.height)) * scale;
  const shown = (c: Clip): number[] => evenlySpaced(c.frames, Math.min(framesPerClip, c.frames));

  const clipWidth = (c: Clip): number => {
    const n = shown(c).length;
    return n * c.width * zoom(c) + (n - 1) * FRAME_GAP * scale;
  };
  const layouts = rowClips.map((clips, i) => {
    const label = labels[i];
    const labelSize = label ? measureText(label, scale) : { width: 0, height: 0 };
    const framesWidth = clips.reduce((w, c) => w + clipWidth(c), 0) + (clips.length - 1) * CLIP_GAP * scale;
    const framesHeight = Math.max(...clips.map((c) => c.height * zoom(c)));
    const labelHeight = label ? labelSize.height + LABEL_GAP * scale : 0;
    return { clips, label, width: Math.max(framesWidth, labelSize.width), labelHeight, framesHeight };
  });
  const margin = MARGIN * scale;
  const width = 2 * margin + Math.max(...layouts.map((l) => l.width));
  const height =
    2 * margin +
    layouts.reduce((h, l) => h + l.labelHeight + l.framesHeight, 0) +
    (layouts.length - 1) * ROW_GAP * scale;
  const image: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  for (let p = 0; p < width * height; p++) image.data.set(SHEET_RGB, 3 * p);

  let y = margin;
  for (const layout of layouts) {
    if (layout.label) drawText(image, layout.label, margin, y, { scale, colour: LABEL_RGB });
    y += layout.labelHeight;
    let x = margin;
    for (const clip of layout.clips) {
      const k = zoom(clip);
      for (const t of shown(clip)) {
        blitFrame(image, clip, t, x, y, k);
        x += clip.width * k + FRAME_GAP * scale;
      }
      x += (CLIP_GAP - FRAME_GAP) * scale;
    }
    y += layout.framesHeight + ROW_GAP * scale;
  }
  return image;
}

/** Renders a contact sheet and writes it as a PNG (atomically). Returns the image size. */
export async function writeContactSheet(
  path: string,
  rows: readonly ContactSheetRow[],
  options: ContactSheetOptions = {},
): Promise<{ width: number; height: number }> {
  const image = contactSheet(rows, options);
  await writePng(path, image);
  return { width: image.width, height: image.height };
}

/** `n` frame indices spread evenly from 0 to frames - 1 (both included when n > 1). */
export function evenlySpaced(frames: number, n: number): number[] {
  if (n <= 1) return [0];
  return Array.from({ length: n }, (_, k) => Math.round((k * (frames - 1)) / (n - 1)));
}

function blitFrame(image: RgbImage, clip: Clip, t: number, x0: number, y0: number, k: number): void {
  const { width: w, height: h, data } = clip;
  const frameOffset = t * h * w * 3;
  const out = image.data;
  for (let j = 0; j < h * k; j++) {
    const srcRow = frameOffset + Math.floor(j / k) * w * 3;
    let o = 3 * ((y0 + j) * image.width + x0);
    for (let i = 0; i < w * k; i++, o += 3) {
      const s = srcRow + Math.floor(i / k) * 3;
      out[o] = toByte(data[s]!);
      out[o + 1] = toByte(data[s + 1]!);
      out[o + 2] = toByte(data[s + 2]!);
    }
  }
}

function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
}
