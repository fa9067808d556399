import type { tf } from '../backend/tf.js';
import { CascadeError, throwIfAborted } from '../util/cascade-error.js';
import type { CascadeStagePlan, CascadeUpscaler } from './cascade-upscaler.js';
import { pivotReplacement } from './pivot-replacement.js';
import { resizeUpscale } from './resize-upscale.js';
import type { ModelStageContext } from './stage-context.js';

type Upscalers = { [K in CascadeStagePlan['kind']]?: CascadeUpscaler<K> };

/** Upscalers by stage kind; the learned `tuned` upscaler registers itself here when it exists. */
const UPSCALERS: Upscalers = {
  'pivot-replacement': pivotReplacement,
  resize: resizeUpscale,
};

export function registerCascadeUpscaler<K extends CascadeStagePlan['kind']>(
  kind: K,
  upscaler: CascadeUpscaler<K>,
): void {
  (UPSCALERS as Record<string, unknown>)[kind] = upscaler;
}

/**
 * One cascade stage: the previous stage's clean output in, the next (2x, or the target size
 * for `resize`) clean output out. The previous output is not disposed.
 */
export async function cascadeStage(
  previous: tf.Tensor5D,
  stage: CascadeStagePlan,
  context: ModelStageContext,
): Promise<tf.Tensor5D> {
  throwIfAborted(context.signal);
  const upscaler = UPSCALERS[stage.kind] as CascadeUpscaler | undefined;
  if (!upscaler) {
    throw new CascadeError(
      'INVALID_JOB',
      `Cascade stage kind "${stage.kind}" is not available in this build.`,
      {
        path: `clips.${context.clip.index}.mode`,
      },
    );
  }
  return upscaler(previous, stage as never, context);
}
