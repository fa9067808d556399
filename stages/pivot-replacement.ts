import { tf } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import type { CascadeUpscaler } from './cascade-upscaler.js';
import { runClipSampler } from './run-clip-sampler.js';

/**
 * Tuning-free Self-Cascade (paper, section 3.2; DESIGN.md 2.3): pivot = bilinear 2x spatial
 * upsample of the previous clean sample; fresh noise (`schedule.samplingNoise`, frames
 * correlated by the clip's `frameCorrelation`) takes it to step K,
 * zK = sqrt(abar[K]) pivot + sqrt(1 - abar[K]) eps, and the same frozen base denoises K -> 0
 * at the new size. The pivot is used once, at K; it is not rescaled on later steps.
 */
export const pivotReplacement: CascadeUpscaler<'pivot-replacement'> = async (previous, stage, context) => {
  const { clip, model } = context;
  const [batch, frames] = previous.shape;
  const rng = new Rng(stage.seed);
  const zK = tf.tidy(() => {
    const folded = tf.reshape(previous, [
      batch * frames,
      previous.shape[2],
      previous.shape[3],
      3,
    ]) as tf.Tensor4D;
    // Half-pixel centres: each low-res pixel covers exactly 2x2 high-res pixels.
    const up = tf.image.resizeBilinear(folded, [stage.height, stage.width], false, true);
    const pivot = tf.reshape(up, [batch, frames, stage.height, stage.width, 3]);
    const eps = model.schedule.samplingNoise(pivot.shape, rng, clip.frameCorrelation);
    return model.schedule.qSample(pivot, clip.k, eps) as tf.Tensor5D;
  });
  try {
    return await runClipSampler(zK, clip.k, stage.seed, `cascade-${stage.index}`, context);
  } finally {
    zK.dispose();
  }
};
