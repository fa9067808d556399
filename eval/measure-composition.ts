import type { Clip } from '../data/clip.js';
import { COLOUR_NAMES, type ColourName, PALETTE, patternTone, type Rgb } from '../data/palette.js';

/**
 * Objects per frame, recovered from pixels alone (no scene, no prompt), for the shapes domain.
 *
 * 1. Background: every background of the domain (solid, gradient, stripes with dark
 *    pinstripes, checker) only holds shades k * b of one palette colour b, k in [0, 1]
 *    (tones b and 0.6 b, pinstripes 0.27 b, and their anti-aliased mixtures; k -> 0 is the
 *    near-black object outline blended in). Per clip, b is the palette colour whose shade
 *    segment [0.25 b, b] lies within `maxColourDistance` of the most pixels.
 * 2. Pixels: each pixel takes the label of the nearest colour model: the background segment
 *    [0, b], or for each other palette colour o the segments [0.3 o, o] ([0.6 o, o] for white) (fill darkened by
 *    the blurred outline) and [o, patternTone(o)] (the fill pattern and its average). Pixels
 *    farther than `maxColourDistance` from every model stay unlabelled.
 * 3. Objects: 8-connected components per colour label; components smaller than `minArea`
 *    (in d0 = 32-row pixels, scaled by (rows / 32)^2) are anti-aliasing fringes and dropped.
 *
 * Objects never overlap in the domain (bounding boxes at least 0.02 frame heights apart), and
 * outlines separate an object from the background, so one component is one object. An object
 * with the background's own colour cannot be seen (the sampler never makes one).
 */
export interface MeasuredObject {
  readonly colour: ColourName;
  /** Pixels in the component (at the clip's resolution). */
  readonly area: number;
  /** Inclusive pixel bounds. */
  readonly bbox: { readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number };
  /** Mean pixel centre, in pixels (x right, y down; pixel (0, 0) has centre (0.5, 0.5)). */
  readonly centroid: { readonly x: number; readonly y: number };
}

export interface MeasuredFrame {
  readonly objects: MeasuredObject[];
  /** Objects per colour (every palette colour present as a key). */
  readonly counts: Record<ColourName, number>;
  readonly total: number;
}

export interface MeasuredComposition {
  /** Estimated background colour, and the share of pixels its shade segment explains. */
  readonly background: { readonly colour: ColourName; readonly coverage: number };
  readonly frames: MeasuredFrame[];
}

export interface MeasureCompositionOptions {
  /** Largest RGB distance from a colour model for a pixel to be labelled (default 0.2). */
  readonly maxColourDistance?: number;
  /** Smallest object, in pixels at 32 rows (scaled by (rows / 32)^2; default 4). */
  readonly minArea?: number;
}

export const DEFAULT_MIN_OBJECT_AREA = 4;
export const DEFAULT_MAX_COLOUR_DISTANCE = 0.2;

/** Fill blended with the dark outline keeps its hue down to this fraction of its brightness. */
const DARK_FILL = 0.3;
/**
 * ... except white: darkened white is grey, which is also what any colour blended with the
 * near-black outline drifts toward, so dark greys would turn outline rings into white objects.
 */
const DARK_WHITE = 0.6;
const UNLABELLED = 255;
const BACKGROUND = 254;

interface Segment {
  readonly a: Rgb;
  readonly b: Rgb;
  readonly label: number;
}

/** Measures the objects in every frame of `clip` ([frames, h, w, 3], RGB in [0, 1]). */
export function measureComposition(clip: Clip, options: MeasureCompositionOptions = {}): MeasuredComposition {
  const maxDistance = options.maxColourDistance ?? DEFAULT_MAX_COLOUR_DISTANCE;
  const minArea = Math.max(
    1,
    Math.round((options.minArea ?? DEFAULT_MIN_OBJECT_AREA) * (clip.height / 32) ** 2),
  );
  const background = estimateBackground(clip, maxDistance);
  const segments = colourModels(background.colour);
  const plane = clip.height * clip.width;
  const labels = new Uint8Array(plane);
  const frames: MeasuredFrame[] = [];
  for (let t = 0; t < clip.frames; t++) {
    labelPixels(clip.data, t * plane * 3, plane, segments, maxDistance * maxDistance, labels);
    frames.push(components(labels, clip.height, clip.width, minArea));
  }
  return { background, frames };
}

/** The background colour whose shade segment explains the most pixels of the clip. */
function estimateBackground(clip: Clip, maxDistance: number): { colour: ColourName; coverage: number } {
  const d = clip.data;
  const n = clip.frames * clip.height * clip.width;
  // Subsample large clips: the background covers most of every frame, a stride keeps it exact enough.
  const stride = Math.max(1, Math.floor(n / 65536));
  const counts = new Float64Array(COLOUR_NAMES.length);
  const limit = maxDistance * maxDistance;
  const segs = COLOUR_NAMES.map((name) => {
    const c = PALETTE[name];
    return { a: scale(c, 0.25), b: c };
  });
  let seen = 0;
  for (let p = 0; p < n; p += stride) {
    const r = d[3 * p]!;
    const g = d[3 * p + 1]!;
    const b = d[3 * p + 2]!;
    seen++;
    segs.forEach((s, k) => {
      if (segmentDistance2(r, g, b, s.a, s.b) <= limit) counts[k]! += 1;
    });
  }
  let best = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k]! > counts[best]!) best = k;
  return { colour: COLOUR_NAMES[best]!, coverage: seen === 0 ? 0 : counts[best]! / seen };
}

function colourModels(background: ColourName): Segment[] {
  const segments: Segment[] = [{ a: [0, 0, 0], b: PALETTE[background], label: BACKGROUND }];
  COLOUR_NAMES.forEach((name, k) => {
    if (name === background) return;
    const c = PALETTE[name];
    segments.push({ a: scale(c, name === 'white' ? DARK_WHITE : DARK_FILL), b: c, label: k });
    segments.push({ a: c, b: patternTone(name), label: k });
  });
  return segments;
}

function labelPixels(
  data: Float32Array,
  offset: number,
  plane: number,
  segments: readonly Segment[],
  limit: number,
  labels: Uint8Array,
): void {
  for (let p = 0; p < plane; p++) {
    const o = offset + 3 * p;
    const r = data[o]!;
    const g = data[o + 1]!;
    const b = data[o + 2]!;
    let best = UNLABELLED;
    let bestD = limit;
    for (const s of segments) {
      const dist = segmentDistance2(r, g, b, s.a, s.b);
      if (dist <= bestD) {
        bestD = dist;
        best = s.label;
      }
    }
    labels[p] = best;
  }
}

/** Squared distance from (r, g, b) to the segment [a, b] in RGB. */
function segmentDistance2(r: number, g: number, b: number, sa: Rgb, sb: Rgb): number {
  const ex = sb[0] - sa[0];
  const ey = sb[1] - sa[1];
  const ez = sb[2] - sa[2];
  const wx = r - sa[0];
  const wy = g - sa[1];
  const wz = b - sa[2];
  const len2 = ex * ex + ey * ey + ez * ez;
  let u = len2 > 0 ? (wx * ex + wy * ey + wz * ez) / len2 : 0;
  u = Math.min(1, Math.max(0, u));
  const dx = wx - u * ex;
  const dy = wy - u * ey;
  const dz = wz - u * ez;
  return dx * dx + dy * dy + dz * dz;
}

function scale(c: Rgb, k: number): Rgb {
  return [c[0] * k, c[1] * k, c[2] * k];
}

/**
 * 8-connected components of equal colour labels (flood fill with an explicit stack), then the
 * fringe filter: a component is dropped when it is smaller than `minArea`, or when it touches
 * (8-neighbourhood) a component of another colour at least FRINGE_RATIO times its area. Two
 * real objects never touch: each has an outline and objects keep a gap, so a touching smaller
 * component is an anti-aliased mixture at the edge of the bigger one (e.g. blue fill + dark
 * outline + red background reads as purple).
 */
function components(labels: Uint8Array, height: number, width: number, minArea: number): MeasuredFrame {
  const ids = new Int32Array(labels.length).fill(-1);
  const stack = new Int32Array(labels.length);
  const found: {
    label: number;
    area: number;
    sx: number;
    sy: number;
    x0: number;
    y0: number;
    x1: number;
    y1: number;
  }[] = [];
  for (let start = 0; start < labels.length; start++) {
    const label = labels[start]!;
    if (ids[start] !== -1 || label >= COLOUR_NAMES.length) continue;
    const id = found.length;
    let top = 0;
    stack[top++] = start;
    ids[start] = id;
    const c = { label, area: 0, sx: 0, sy: 0, x0: width, y0: height, x1: -1, y1: -1 };
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      c.area++;
      c.sx += x + 0.5;
      c.sy += y + 0.5;
      if (x < c.x0) c.x0 = x;
      if (x > c.x1) c.x1 = x;
      if (y < c.y0) c.y0 = y;
      if (y > c.y1) c.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (ids[q] !== -1 || labels[q] !== label) continue;
          ids[q] = id;
          stack[top++] = q;
        }
      }
    }
    found.push(c);
  }
  // Largest touching component of another colour, per component.
  const biggestNeighbour = new Float64Array(found.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = ids[y * width + x]!;
      if (a < 0) continue;
      // Forward half of the 8-neighbourhood: each touching pair is seen once.
      for (const [dx, dy] of FORWARD_NEIGHBOURS) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || nx >= width || ny >= height) continue;
        const b = ids[ny * width + nx]!;
        if (b < 0 || b === a || found[a]!.label === found[b]!.label) continue;
        biggestNeighbour[a] = Math.max(biggestNeighbour[a]!, found[b]!.area);
        biggestNeighbour[b] = Math.max(biggestNeighbour[b]!, found[a]!.area);
      }
    }
  }
  const kept = found.filter((c, id) => c.area >= minArea && biggestNeighbour[id]! < FRINGE_RATIO * c.area);
  // A thin object (a small ring at 32 rows) can break into pieces where its fill is under a
  // pixel wide: a piece smaller than FRAGMENT_AREA * minArea joins a same-colour component
  // whose box lies within one d0 pixel of its own.
  const gap = Math.max(1, Math.round(height / 32));
  kept.sort((a, b) => b.area - a.area);
  const merged: typeof kept = [];
  for (const c of kept) {
    const host =
      c.area < FRAGMENT_AREA * minArea
        ? merged.find(
            (m) =>
              m.label === c.label &&
              c.x0 <= m.x1 + gap &&
              m.x0 <= c.x1 + gap &&
              c.y0 <= m.y1 + gap &&
              m.y0 <= c.y1 + gap,
          )
        : undefined;
    if (!host) {
      merged.push({ ...c });
      continue;
    }
    host.area += c.area;
    host.sx += c.sx;
    host.sy += c.sy;
    host.x0 = Math.min(host.x0, c.x0);
    host.y0 = Math.min(host.y0, c.y0);
    host.x1 = Math.max(host.x1, c.x1);
    host.y1 = Math.max(host.y1, c.y1);
  }
  merged.sort((a, b) => a.y0 - b.y0 || a.x0 - b.x0);
  const objects: MeasuredObject[] = [];
  const counts = Object.fromEntries(COLOUR_NAMES.map((c) => [c, 0])) as Record<ColourName, number>;
  for (const c of merged) {
    const colour = COLOUR_NAMES[c.label]!;
    counts[colour] += 1;
    objects.push({
      colour,
      area: c.area,
      bbox: { x0: c.x0, y0: c.y0, x1: c.x1, y1: c.y1 },
      centroid: { x: c.sx / c.area, y: c.sy / c.area },
    });
  }
  return { objects, counts, total: objects.length };
}

/** A touching component of another colour this many times bigger makes a component a fringe. */
const FRINGE_RATIO = 1.5;

/** Pieces below this many times the minimum area may be fragments of a nearby same-colour object. */
const FRAGMENT_AREA = 3;

const FORWARD_NEIGHBOURS: readonly (readonly [number, number])[] = [
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
];
