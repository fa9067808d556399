import type { tf } from '../backend/tf.js';
import type { StagePlan } from '../pipeline/plan.js';
import type { ModelStageContext } from './stage-context.js';

/** A cascade stage's plan (every stage but the base). */
export type CascadeStagePlan = Exclude<StagePlan, { kind: 'base' }>;

/**
 * How one cascade stage turns the previous stage's clean output [1, T, h, w, 3] into the next
 * one [1, T, H, W, 3]. Pivot replacement, plain resizing and (later) the learned time-aware
 * feature upsamplers are all upscalers: the pipeline only knows this contract. Must not dispose
 * `previous`.
 */
export type CascadeUpscaler<K extends CascadeStagePlan['kind'] = CascadeStagePlan['kind']> = (
  previous: tf.Tensor5D,
  stage: Extract<CascadeStagePlan, { kind: K }>,
  context: ModelStageContext,
) => Promise<tf.Tensor5D>;
