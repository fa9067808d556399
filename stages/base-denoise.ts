import type { tf } from '../backend/tf.js';
import type { Latents } from './prepare-latents.js';
import { runClipSampler } from './run-clip-sampler.js';
import type { ModelStageContext } from './stage-context.js';

/**
 * Stage 0: the frozen base samples the clip at its stage size (d0; the target size in
 * `direct` mode) from the prepared latents. Returns the clean sample x0 [1, T, H, W, 3] in
 * about [-1, 1]; the latents are not disposed.
 */
export function baseDenoise(latents: Latents, context: ModelStageContext): Promise<tf.Tensor5D> {
  const base = context.clip.stages[0]!;
  if (base.kind !== 'base') throw new Error('the first stage of a clip plan must be the base stage');
  return runClipSampler(latents.state, latents.startStep, base.seed, 'base', context);
}
