import type { Clip } from '../data/clip.js';
import { clipLuma } from './clip-luma.js';

/**
 * High-frequency energy of a clip: the mean over frames and pixels of (L - blur(L))^2, with L
 * the luma and blur the separable 5-tap binomial filter [1 4 6 4 1] / 16 (borders clamped).
 * It measures detail finer than about two pixels: outlines, fill patterns, pinstripes and
 * checker edges, which a blurry upsampler loses. Compare clips at the same resolution only;
 * `detailRatio` divides by real clips (1 = as detailed as real footage, < 1 = blurrier,
 * > 1 = noisier or over-sharpened).
 */
export function detailEnergy(clip: Clip): number {
  const { frames, height, width } = clip;
  const luma = clipLuma(clip);
  const plane = height * width;
  const tmp = new Float32Array(plane);
  let total = 0;
  for (let t = 0; t < frames; t++) {
    const f = luma.subarray(t * plane, (t + 1) * plane);
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        tmp[row + x] =
          (f[row + clamp(x - 2, width)]! +
            4 * f[row + clamp(x - 1, width)]! +
            6 * f[row + x]! +
            4 * f[row + clamp(x + 1, width)]! +
            f[row + clamp(x + 2, width)]!) /
          16;
      }
    }
    let s = 0;
    for (let y = 0; y < height; y++) {
      const r0 = clamp(y - 2, height) * width;
      const r1 = clamp(y - 1, height) * width;
      const r2 = y * width;
      const r3 = clamp(y + 1, height) * width;
      const r4 = clamp(y + 2, height) * width;
      for (let x = 0; x < width; x++) {
        const blur =
          (tmp[r0 + x]! + 4 * tmp[r1 + x]! + 6 * tmp[r2 + x]! + 4 * tmp[r3 + x]! + tmp[r4 + x]!) / 16;
        const d = f[r2 + x]! - blur;
        s += d * d;
      }
    }
    total += s / plane;
  }
  return frames === 0 ? 0 : total / frames;
}

/** Mean detail energy of `generated` over that of `real` (same resolution expected). */
export function detailRatio(generated: readonly Clip[], real: readonly Clip[]): number {
  const mean = (cs: readonly Clip[]): number =>
    cs.reduce((s, c) => s + detailEnergy(c), 0) / Math.max(1, cs.length);
  const r = mean(real);
  return r === 0 ? Number.NaN : mean(generated) / r;
}

function clamp(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}
