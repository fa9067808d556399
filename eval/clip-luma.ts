import type { Clip } from '../data/clip.js';

/** Rec. 709 luma weights on the stored (gamma-encoded) RGB values. */
export const LUMA_WEIGHTS = [0.2126, 0.7152, 0.0722] as const;

/** Luma of every pixel: [frames, height, width], same units as the clip ([0, 1]). */
export function clipLuma(clip: Clip): Float32Array {
  const n = clip.frames * clip.height * clip.width;
  const out = new Float32Array(n);
  const d = clip.data;
  const [wr, wg, wb] = LUMA_WEIGHTS;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = wr * d[j]! + wg * d[j + 1]! + wb * d[j + 2]!;
  return out;
}
