import type { Clip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';
import { blockFlow, type Flow, sampleBilinear } from './block-flow.js';
import { clipLuma } from './clip-luma.js';
import { stageSeamRatios } from './frame-consistency.js';
import { median } from './median.js';

/**
 * Temporal metrics of one clip [frames, h, w, 3]. Set-level numbers divide the mean over
 * generated clips by the mean over real clips at the same resolution (see `relativeToReal`),
 * because motion alone makes consecutive frames differ.
 */

/** Mean over consecutive frame pairs of the mean |f[t+1] - f[t]| (RGB, [0, 1] units). */
export function meanFrameDifference(clip: Clip): number {
  const n = clip.height * clip.width * 3;
  if (clip.frames < 2) return 0;
  let total = 0;
  for (let t = 0; t + 1 < clip.frames; t++) {
    let s = 0;
    for (let i = t * n; i < (t + 1) * n; i++) s += Math.abs(clip.data[i + n]! - clip.data[i]!);
    total += s / n;
  }
  return total / (clip.frames - 1);
}

export interface WarpingErrorResult {
  /** Mean over pairs of the mean |f[t+1](x) - f[t](x + F(x))| over non-occluded pixels (RGB). */
  readonly value: number;
  /** Share of pixels kept by the forward-backward consistency mask. */
  readonly validFraction: number;
  /**
   * The same error over every pixel whose source lies in the frame, occluded ones included.
   * Real footage only loses thin disocclusion bands to the mask, so this stays close to
   * `value` on real clips; objects that appear, vanish or jump are masked out of `value`
   * (no consistent flow explains them) but count here.
   */
  readonly unmasked: number;
}

export interface WarpingErrorOptions {
  /**
   * Forward-backward tolerance: a pixel is occluded when |F(x) + G(x + F(x))| exceeds
   * this many d0 (32-row) pixels, scaled to the clip's rows (default 0.5).
   */
  readonly consistency?: number;
}

/**
 * Warping error with block-matching flow (block-flow.ts): for each pair (t, t+1), the flow F
 * from frame t+1 into frame t warps frame t onto t+1 (bilinear); the flow G from t into t+1
 * checks it, and pixels where the two disagree (occlusions, failed matches) or F leaves the
 * frame are excluded. Low for smooth motion, high for flicker, shuffled or unrelated frames.
 */
export function warpingError(clip: Clip, options: WarpingErrorOptions = {}): WarpingErrorResult {
  const { frames, height, width } = clip;
  if (frames < 2) return { value: 0, validFraction: 1, unmasked: 0 };
  const tolerance = (options.consistency ?? 0.5) * Math.max(1, height / 32);
  const luma = clipLuma(clip);
  const plane = height * width;
  const n = plane * 3;
  let total = 0;
  let validTotal = 0;
  let unmaskedTotal = 0;
  for (let t = 0; t + 1 < frames; t++) {
    const la = luma.subarray(t * plane, (t + 1) * plane);
    const lb = luma.subarray((t + 1) * plane, (t + 2) * plane);
    const back = blockFlow(la, lb, height, width);
    const fwd = blockFlow(lb, la, height, width);
    const fa = clip.data.subarray(t * n, (t + 1) * n);
    const fb = clip.data.subarray((t + 1) * n, (t + 2) * n);
    let s = 0;
    let valid = 0;
    let sAll = 0;
    let inFrame = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        const sx = x + back.u[p]!;
        const sy = y + back.v[p]!;
        if (sx < -0.5 || sy < -0.5 || sx > width - 0.5 || sy > height - 0.5) continue;
        let e = 0;
        for (let k = 0; k < 3; k++)
          e += Math.abs(fb[3 * p + k]! - sampleBilinear(fa, height, width, 3, sx, sy, k));
        sAll += e;
        inFrame++;
        if (!consistent(back, fwd, x, y, sx, sy, tolerance)) continue;
        s += e;
        valid++;
      }
    }
    total += valid === 0 ? 0 : s / (3 * valid);
    unmaskedTotal += inFrame === 0 ? 0 : sAll / (3 * inFrame);
    validTotal += valid / plane;
  }
  const pairs = frames - 1;
  return { value: total / pairs, validFraction: validTotal / pairs, unmasked: unmaskedTotal / pairs };
}

function consistent(
  back: Flow,
  fwd: Flow,
  x: number,
  y: number,
  sx: number,
  sy: number,
  tol: number,
): boolean {
  const q =
    Math.min(back.height - 1, Math.max(0, Math.round(sy))) * back.width +
    Math.min(back.width - 1, Math.max(0, Math.round(sx)));
  const p = y * back.width + x;
  const du = back.u[p]! + fwd.u[q]!;
  const dv = back.v[p]! + fwd.v[q]!;
  return du * du + dv * dv <= tol * tol;
}

/**
 * Stage seam ratio: mean over frames of stageSeamRatios (frame-consistency.ts), i.e. how far
 * the area-downsampled stage output departs from its pivot, in units of the pivot's own median
 * frame-to-frame change (floored at `minScale`). 0 = the stage kept the pivot exactly.
 */
export function stageSeamRatio(output: Clip, pivot: Clip, minScale = 0.01): number {
  const r = stageSeamRatios(output, pivot, minScale);
  let s = 0;
  for (const v of r) s += v;
  return r.length === 0 ? 0 : s / r.length;
}

/**
 * Chunk seam ratio for clips generated in temporal chunks of `chunkFrames`: the mean
 * |difference| of the frame pairs that straddle a chunk boundary divided by the median one of
 * the pairs inside chunks (floored at `minScale`). 1 = boundaries look like any other frame step.
 */
export function chunkSeamRatio(clip: Clip, chunkFrames: number, minScale = 0.005): number {
  if (!Number.isInteger(chunkFrames) || chunkFrames < 1 || chunkFrames >= clip.frames) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `chunkFrames is ${chunkFrames}; expected an integer from 1 to ${clip.frames - 1} (the clip has ${clip.frames} frames).`,
      { path: 'chunkFrames' },
    );
  }
  const n = clip.height * clip.width * 3;
  const inside: number[] = [];
  const boundary: number[] = [];
  for (let t = 0; t + 1 < clip.frames; t++) {
    let s = 0;
    for (let i = t * n; i < (t + 1) * n; i++) s += Math.abs(clip.data[i + n]! - clip.data[i]!);
    ((t + 1) % chunkFrames === 0 ? boundary : inside).push(s / n);
  }
  const base = Math.max(median(inside), minScale);
  return boundary.reduce((a, b) => a + b, 0) / boundary.length / base;
}

/** Mean of `f` over generated clips divided by its mean over real clips (NaN if the latter is 0). */
export function relativeToReal(
  generated: readonly Clip[],
  real: readonly Clip[],
  f: (c: Clip) => number,
): number {
  const mean = (cs: readonly Clip[]): number => cs.reduce((s, c) => s + f(c), 0) / Math.max(1, cs.length);
  const r = mean(real);
  return r === 0 ? Number.NaN : mean(generated) / r;
}
