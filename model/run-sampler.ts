import { tf } from '../backend/tf.js';
import { CascadeError, throwIfAborted } from '../util/cascade-error.js';
import type { NoiseSchedule } from './noise-schedule.js';
import { type Denoiser, type SamplerOptions, samplerTimesteps } from './sample-options.js';

/** One sampler's update rule. */
export interface SamplerStepper {
  /**
   * The state at `prev` from the state x at `t` and the predicted eps (prev = -1: clean).
   * Runs inside tf.tidy; must not dispose x or eps.
   */
  step(x: tf.Tensor, eps: tf.Tensor, t: number, prev: number, index: number): tf.Tensor;
  /** Releases tensors the stepper keeps between steps. */
  dispose(): void;
}

/**
 * The loop shared by the samplers: abort check, model call, update, progress, and a yield to
 * the event loop between steps (so an AbortSignal fired by a timer or a message can land).
 * Never disposes `xStart`; on error or abort every intermediate tensor is released.
 */
export async function runSampler(
  denoise: Denoiser,
  xStart: tf.Tensor5D,
  schedule: NoiseSchedule,
  options: SamplerOptions,
  stepper: SamplerStepper,
): Promise<tf.Tensor5D> {
  if (xStart.rank !== 5 || xStart.isDisposed) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `Sampler input has shape [${xStart.shape.join(', ')}]${xStart.isDisposed ? ' and is disposed' : ''}, expected a live [B, T, H, W, 3] tensor.`,
      { path: 'xStart' },
    );
  }
  const timesteps = samplerTimesteps(schedule.steps, options.steps, options.spacing, options.startStep);
  const totalSteps = timesteps.length;
  let x: tf.Tensor = xStart;
  try {
    for (let i = 0; i < totalSteps; i++) {
      throwIfAborted(options.signal);
      const t = timesteps[i]!;
      const prev = timesteps[i + 1] ?? -1;
      const eps = await denoise(x as tf.Tensor5D, t, { step: i + 1, totalSteps });
      let next: tf.Tensor;
      try {
        if (eps === x || eps.isDisposed || !sameShape(eps.shape, x.shape)) {
          throw new CascadeError(
            'INTERNAL',
            `The denoiser returned ${eps === x ? 'its input' : `a tensor of shape [${eps.shape.join(', ')}]`}; expected a new tensor of shape [${x.shape.join(', ')}].`,
          );
        }
        const current = x;
        next = tf.tidy(() => stepper.step(current, eps, t, prev, i));
      } finally {
        if (eps !== x) eps.dispose();
      }
      if (x !== xStart) x.dispose();
      x = next;
      options.onProgress?.({ step: i + 1, totalSteps, t });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    throwIfAborted(options.signal);
    // A run always has at least one step, so x is a new tensor here.
    return x as tf.Tensor5D;
  } catch (error) {
    if (x !== xStart) x.dispose();
    throw error;
  } finally {
    stepper.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
