import { tf } from '../backend/tf.js';
import type { Clip } from '../data/clip.js';
import { resampleClip } from '../data/resample-clip.js';
import { throwIfAborted } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';
import type { ModelStageContext } from './stage-context.js';

/** The starting state of the base denoise ([1, T, H, W, 3]) and its step; undefined = pure noise (the full schedule). */
export interface Latents {
  readonly state: tf.Tensor5D;
  readonly startStep: number | undefined;
}

/**
 * Seeded synthesis: pure noise at the last training step, from the base stage's seed. Video to
 * video: the decoded input (already [T, h, w, 3] in [0, 1]) resized to the base stage's size,
 * mapped to [-1, 1] and noised to step round(strength * (N - 1)), so strength 1 ignores it.
 */
export async function prepareLatents(input: Clip | undefined, context: ModelStageContext): Promise<Latents> {
  const { clip, model } = context;
  throwIfAborted(context.signal);
  const base = clip.stages[0]!;
  if (base.kind !== 'base') throw new Error('the first stage of a clip plan must be the base stage');
  const rng = new Rng(base.seed);
  const shape = [1, clip.frames, base.height, base.width, 3];
  const lastStep = model.schedule.steps - 1;
  let latents: Latents;
  if (!input || !clip.input) {
    latents = {
      state: model.schedule.samplingNoise(shape, rng, clip.frameCorrelation) as tf.Tensor5D,
      startStep: undefined,
    };
  } else {
    const startStep = Math.max(1, Math.min(lastStep, Math.round(clip.input.strength * lastStep)));
    const resized = resampleClip(input, base.height, base.width, 'lanczos');
    const state = tf.tidy(() => {
      const x0 = tf.sub(tf.mul(tf.tensor(resized.data, shape, 'float32'), 2), 1);
      const eps = model.schedule.samplingNoise(shape, rng, clip.frameCorrelation);
      return model.schedule.qSample(x0, startStep, eps) as tf.Tensor5D;
    });
    latents = { state, startStep };
  }
  context.onProgress?.({ stage: 'latents', fraction: 1 });
  return latents;
}
