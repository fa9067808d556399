import { tf } from '../backend/tf.js';
import type { NoiseSchedule } from './noise-schedule.js';
import { runSampler } from './run-sampler.js';
import type { Denoiser, SamplerOptions } from './sample-options.js';

/**
 * DPM-Solver++(2M) (Lu et al. 2022): multistep second-order solver in data (x0) prediction.
 * With alpha = sqrt(abar), sigma = sqrt(1 - abar), lambda = log(alpha / sigma), the step
 * t -> prev with h = lambda_prev - lambda_t is
 *   x_prev = (sigma_prev / sigma_t) x_t - alpha_prev (exp(-h) - 1) D
 * where D = x0_t on the first step and D = (1 + 1/(2r)) x0_t - 1/(2r) x0_last otherwise,
 * r = h_last / h. The final step into sigma = 0 (lambda = +inf) is first order, which makes
 * it exactly x_prev = x0_t. Deterministic; options as for DDIM (no eta).
 */
export async function dpmSolverSample(
  denoise: Denoiser,
  xStart: tf.Tensor5D,
  schedule: NoiseSchedule,
  options: SamplerOptions,
): Promise<tf.Tensor5D> {
  const lambda = (t: number): number => {
    const abar = schedule.abar(t);
    return 0.5 * Math.log(abar / (1 - abar));
  };
  let lastX0: tf.Tensor | undefined;
  let lastH = 0;
  return runSampler(denoise, xStart, schedule, options, {
    step(x, eps, t, prev) {
      let x0 = schedule.predictX0(x, t, eps);
      if (options.clipX0) x0 = tf.clipByValue(x0, -1, 1);
      let next: tf.Tensor;
      if (prev === -1) {
        next = tf.clone(x0);
      } else {
        const h = lambda(prev) - lambda(t);
        const abarPrev = schedule.abar(prev);
        const alphaPrev = Math.sqrt(abarPrev);
        const ratio = Math.sqrt(1 - abarPrev) / Math.sqrt(1 - schedule.abar(t));
        let d = x0;
        if (lastX0 !== undefined) {
          const k = 1 / (2 * (lastH / h));
          d = tf.sub(tf.mul(x0, 1 + k), tf.mul(lastX0, k));
        }
        next = tf.sub(tf.mul(x, ratio), tf.mul(d, alphaPrev * Math.expm1(-h)));
        lastH = h;
      }
      lastX0?.dispose();
      lastX0 = tf.keep(x0);
      return next;
    },
    dispose() {
      lastX0?.dispose();
      lastX0 = undefined;
    },
  });
}
