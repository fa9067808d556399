import { CascadeError } from '../util/cascade-error.js';
import { type Clip, createClip } from './clip.js';
import { objectCentre } from './object-centre.js';
import { OUTLINE_RGB, PALETTE, patternTone } from './palette.js';
import { renderBackground } from './render-background.js';
import { FILL_PATTERN_PERIOD, OUTLINE_WIDTH, type Scene, type SceneObject } from './scene.js';
import { shapeCode, shapeDistanceByCode, shapeExtent } from './shape-distance.js';
import { squareWaveMean } from './square-wave-mean.js';

export interface RenderSize {
  readonly height: number;
  readonly width: number;
  readonly frames: number;
}

/** Largest side renderScene accepts (guards against typos such as 12800). */
export const MAX_RENDER_SIDE = 4096;

/**
 * Supersampling pattern for pixels near an edge: 32 samples on a rank-1 lattice (k/32, 9k/32),
 * an n-rooks pattern, so axis-aligned edges (squares, crosses, stripes) get 32 coverage levels.
 * 32 rather than 16 because the outline is 0.4 px wide at d0; 16 samples measured 37.6 dB
 * worst-case against the downsampled 4x render, 32 samples 40 dB. Offsets are in pixels from
 * the pixel centre.
 */
const SAMPLES = 32;
const SAMPLE_X = new Float64Array(SAMPLES);
const SAMPLE_Y = new Float64Array(SAMPLES);
for (let k = 0; k < SAMPLES; k++) {
  SAMPLE_X[k] = (k + 0.5) / SAMPLES - 0.5;
  SAMPLE_Y[k] = (((9 * k) % SAMPLES) + 0.5) / SAMPLES - 0.5;
}
/** Each sample stands for 1/SAMPLES of the pixel; fill patterns are box-filtered over a square that size. */
const SUB_CELL = 1 / Math.sqrt(SAMPLES);

/**
 * Renders a scene to a clip [frames, height, width, 3] in [0, 1]. Every pixel approximates the
 * mean of the continuous image over the pixel's area, so rendering at 4x the size and
 * area-downsampling by 4 reproduces the small render (PSNR >= 35 dB, tested):
 * - background and object interiors: exact closed-form box filters (render-background.ts);
 * - pixels whose centre is within a half-diagonal (+ outline width) of an object's edge:
 *   32 samples, each classified as outside / outline / fill by the signed distance, with the
 *   fill pattern box-filtered over the sample's sub-cell; outside samples take the pixel's
 *   mean background (objects never overlap, so what lies under an object is background).
 * Pixels farther than the half-diagonal from every edge are one colour, decided by the signed
 * distance at the centre (valid by the Lipschitz property documented in shape-distance.ts).
 */
export function renderScene(scene: Scene, size: RenderSize): Clip {
  const { height, width, frames } = size;
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['frames', frames],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_RENDER_SIDE) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `render ${name} is ${v}; expected an integer in 1..${MAX_RENDER_SIDE}`,
        {
          path: name,
        },
      );
    }
  }
  const clip = createClip(frames, height, width);
  const background = renderBackground(scene.background, height, width, scene.aspect);
  const frameSize = height * width * 3;
  const objects = scene.objects.map(prepareObject);
  for (let t = 0; t < frames; t++) {
    const offset = t * frameSize;
    clip.data.set(background, offset);
    for (const o of objects) drawObject(clip.data, offset, o, t, height, width, scene.aspect);
  }
  return clip;
}

interface PreparedObject {
  readonly object: SceneObject;
  readonly code: number;
  readonly extentX: number;
  readonly extentY: number;
  /** 0 plain, 1 horizontal stripes, 2 vertical stripes, 3 checker. */
  readonly pattern: number;
  readonly base: readonly [number, number, number];
  readonly tone: readonly [number, number, number];
}

function prepareObject(object: SceneObject): PreparedObject {
  const [ex, ey] = shapeExtent(object.shape);
  const tone = patternTone(object.colour);
  return {
    object,
    code: shapeCode(object.shape),
    extentX: ex * object.size,
    extentY: ey * object.size,
    pattern:
      object.pattern === 'plain'
        ? 0
        : object.pattern === 'hstripes'
          ? 1
          : object.pattern === 'vstripes'
            ? 2
            : 3,
    base: PALETTE[object.colour],
    tone,
  };
}

// Scratch rows reused across calls: per-column and per-row pattern means and local coordinates.
let scratchX = new Float64Array(256);
let scratchY = new Float64Array(256);
let scratchPx = new Float64Array(256);
let scratchPy = new Float64Array(256);

function ensureScratch(n: number): void {
  if (scratchX.length >= n) return;
  const size = Math.max(n, 2 * scratchX.length);
  scratchX = new Float64Array(size);
  scratchY = new Float64Array(size);
  scratchPx = new Float64Array(size);
  scratchPy = new Float64Array(size);
}

function drawObject(
  data: Float32Array,
  offset: number,
  p: PreparedObject,
  t: number,
  height: number,
  width: number,
  aspect: number,
): void {
  const o = p.object;
  const { x: cx, y: cy } = objectCentre(o, t, aspect);
  const sx = width / aspect;
  const sy = height;
  const pw = 1 / sx;
  const ph = 1 / sy;
  const half = 0.5 * Math.sqrt(pw * pw + ph * ph);
  const r = o.size;
  const code = p.code;
  const w = OUTLINE_WIDTH;
  const innerLimit = -(w + half);

  const i0 = Math.max(0, Math.floor((cx - p.extentX) * sx));
  const i1 = Math.min(width - 1, Math.floor((cx + p.extentX) * sx));
  const j0 = Math.max(0, Math.floor((cy - p.extentY) * sy));
  const j1 = Math.min(height - 1, Math.floor((cy + p.extentY) * sy));
  if (i1 < i0 || j1 < j0) return;
  ensureScratch(Math.max(i1 - i0 + 1, j1 - j0 + 1));
  const lxs = scratchX;
  const lys = scratchY;
  const pxs = scratchPx; // pattern mean per column (vertical stripes / checker)
  const pys = scratchPy; // pattern mean per row (horizontal stripes / checker)
  // Stripes: bands of half a period; checker: cells of half a period (the XOR of two waves).
  const patternPeriod = FILL_PATTERN_PERIOD;
  const phase = o.patternPhase;
  for (let i = i0; i <= i1; i++) {
    const lx = (i + 0.5) * pw - cx;
    lxs[i - i0] = lx;
    pxs[i - i0] = squareWaveMean(lx - 0.5 * pw + phase, lx + 0.5 * pw + phase, patternPeriod);
  }
  for (let j = j0; j <= j1; j++) {
    const ly = (j + 0.5) * ph - cy;
    lys[j - j0] = ly;
    pys[j - j0] = squareWaveMean(ly - 0.5 * ph + phase, ly + 0.5 * ph + phase, patternPeriod);
  }

  const pattern = p.pattern;
  const [b0, b1, b2] = p.base;
  const d0 = p.tone[0] - b0;
  const d1 = p.tone[1] - b1;
  const d2 = p.tone[2] - b2;
  const [l0, l1, l2] = OUTLINE_RGB;
  const subW = SUB_CELL * pw * 0.5;
  const subH = SUB_CELL * ph * 0.5;
  const invSamples = 1 / SAMPLES;

  for (let j = j0; j <= j1; j++) {
    const ly = lys[j - j0]!;
    const rowMean = pys[j - j0]!;
    let idx = offset + 3 * (j * width + i0);
    for (let i = i0; i <= i1; i++, idx += 3) {
      const lx = lxs[i - i0]!;
      const d = shapeDistanceByCode(code, lx, ly, r);
      if (d > half) continue;
      if (d < innerLimit) {
        const colMean = pxs[i - i0]!;
        const v =
          pattern === 0
            ? 0
            : pattern === 1
              ? rowMean
              : pattern === 2
                ? colMean
                : colMean + rowMean - 2 * colMean * rowMean;
        data[idx] = b0 + d0 * v;
        data[idx + 1] = b1 + d1 * v;
        data[idx + 2] = b2 + d2 * v;
        continue;
      }
      let outside = 0;
      let line = 0;
      let fill = 0;
      let fillPattern = 0;
      for (let k = 0; k < SAMPLES; k++) {
        const qx = lx + SAMPLE_X[k]! * pw;
        const qy = ly + SAMPLE_Y[k]! * ph;
        const dk = shapeDistanceByCode(code, qx, qy, r);
        if (dk > 0) outside++;
        else if (dk > -w) line++;
        else {
          fill++;
          if (pattern !== 0) {
            const a = pattern === 1 ? 0 : squareWaveMean(qx - subW + phase, qx + subW + phase, patternPeriod);
            const c = pattern === 2 ? 0 : squareWaveMean(qy - subH + phase, qy + subH + phase, patternPeriod);
            fillPattern += pattern === 1 ? c : pattern === 2 ? a : a + c - 2 * a * c;
          }
        }
      }
      if (outside === SAMPLES) continue;
      const ko = outside * invSamples;
      const kl = line * invSamples;
      const kf = fill * invSamples;
      const kp = fillPattern * invSamples;
      data[idx] = ko * data[idx]! + kl * l0 + kf * b0 + kp * d0;
      data[idx + 1] = ko * data[idx + 1]! + kl * l1 + kf * b1 + kp * d1;
      data[idx + 2] = ko * data[idx + 2]! + kl * l2 + kf * b2 + kp * d2;
    }
  }
}
