import type { Rng } from '../util/rng.js';

/**
 * Fills `out` (`clips` clips of `frames` frames each, frames contiguous) with the noise of a
 * frame-correlated prior, the "mixed" noise of Ge et al. 2023 (Preserve Your Own Correlation):
 * eps_f = sqrt(1 - rho) e_f + sqrt(rho) s with e_f, s i.i.d. standard normal and s shared by
 * the frames of one clip. Every value stays standard normal; two frames of a clip correlate by
 * rho, so a video model sees its frames' noise as mostly one image and keeps the layout across
 * frames. The independent parts are drawn first, so rho = 0 gives exactly `rng.normals`.
 */
export function fillFrameCorrelatedNoise(
  out: Float32Array,
  clips: number,
  frames: number,
  frameCorrelation: number,
  rng: Rng,
): Float32Array {
  if (!(frameCorrelation >= 0 && frameCorrelation < 1)) {
    throw new RangeError(`frameCorrelation is ${frameCorrelation}, expected a number in [0, 1).`);
  }
  const frameSize = out.length / (clips * frames);
  if (!Number.isInteger(frameSize)) {
    throw new RangeError(`${out.length} values do not split into ${clips} clips of ${frames} frames.`);
  }
  rng.normals(out.length, out);
  if (frameCorrelation === 0) return out;
  const own = Math.sqrt(1 - frameCorrelation);
  const common = Math.sqrt(frameCorrelation);
  const shared = new Float32Array(frameSize);
  for (let c = 0; c < clips; c++) {
    rng.normals(frameSize, shared);
    for (let f = 0; f < frames; f++) {
      const offset = (c * frames + f) * frameSize;
      for (let i = 0; i < frameSize; i++) out[offset + i] = own * out[offset + i]! + common * shared[i]!;
    }
  }
  return out;
}
