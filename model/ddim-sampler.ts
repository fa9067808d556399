import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';
import type { NoiseSchedule } from './noise-schedule.js';
import { runSampler } from './run-sampler.js';
import type { Denoiser, SamplerOptions } from './sample-options.js';

export interface DdimOptions extends SamplerOptions {
  /** 0 (default) = deterministic DDIM; 1 = DDPM-like ancestral noise. */
  readonly eta?: number | undefined;
  /**
   * Seed of the per-step noise; required when eta > 0. One seed per clip of the batch makes
   * each clip's noise its own (Rng(seeds[b]) draws clip b's), so a clip denoises the same in
   * any batch; a single number draws the whole batch's noise from one Rng.
   */
  readonly seed?: number | readonly number[] | undefined;
  /** Frame correlation of the per-step noise (default: the schedule's `samplingFrameCorrelation`). */
  readonly frameCorrelation?: number | undefined;
}

/**
 * DDIM (Song et al. 2021) from the state `xStart` at K = options.startStep down to clean.
 * Per step t -> prev (abar_prev = 1 after the last step):
 *   x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)      (optionally clipped to [-1, 1])
 *   sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)
 *   x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z,  z ~ Rng(seed)
 * (the schedule's sampling noise, frames correlated)
 * Returns a new tensor [B, T, H, W, 3]; `xStart` is not disposed.
 */
export async function ddimSample(
  denoise: Denoiser,
  xStart: tf.Tensor5D,
  schedule: NoiseSchedule,
  options: DdimOptions,
): Promise<tf.Tensor5D> {
  const eta = options.eta ?? 0;
  if (!(eta >= 0 && eta <= 1)) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `eta is ${eta}, expected a number in [0, 1] (0 = deterministic DDIM).`,
      {
        path: 'eta',
      },
    );
  }
  if (eta > 0 && options.seed === undefined) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `eta is ${eta} but no seed was given; DDIM with eta > 0 needs a seed.`,
      {
        path: 'seed',
      },
    );
  }
  const seeds = options.seed;
  if (eta > 0 && typeof seeds !== 'number' && seeds!.length !== xStart.shape[0]) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `${seeds!.length} per-clip seed(s) for a batch of ${xStart.shape[0]} clip(s).`,
      { path: 'seed' },
    );
  }
  const rngs = eta > 0 ? (typeof seeds === 'number' ? [seeds] : seeds!).map((s) => new Rng(s)) : [];
  const stepNoise = (shape: readonly number[]): tf.Tensor => {
    if (rngs.length === 1) return schedule.samplingNoise(shape, rngs[0]!, options.frameCorrelation);
    const one = [1, ...shape.slice(1)];
    return tf.concat(
      rngs.map((rng) => schedule.samplingNoise(one, rng, options.frameCorrelation)),
      0,
    );
  };
  return runSampler(denoise, xStart, schedule, options, {
    step(x, eps, t, prev) {
      const abarT = schedule.abar(t);
      const abarPrev = schedule.abar(prev);
      let x0 = schedule.predictX0(x, t, eps);
      if (options.clipX0) {
        x0 = tf.clipByValue(x0, -1, 1);
        eps = schedule.epsFromX0(x, t, x0);
      }
      const sigma = eta * Math.sqrt(((1 - abarPrev) / (1 - abarT)) * (1 - abarT / abarPrev));
      const direction = Math.sqrt(Math.max(0, 1 - abarPrev - sigma * sigma));
      let next = tf.add(tf.mul(x0, Math.sqrt(abarPrev)), tf.mul(eps, direction));
      if (sigma > 0 && rngs.length > 0) next = tf.add(next, tf.mul(stepNoise(x.shape), sigma));
      return next;
    },
    dispose() {},
  });
}
