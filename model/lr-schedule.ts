import { CascadeError } from '../util/cascade-error.js';

/** Linear warmup to `peak`, then half-cosine decay to `peak * minRatio` at `totalSteps`. */
export interface LrSchedule {
  /** Peak learning rate (reached at the end of warmup). */
  readonly peak: number;
  /** Updates spent ramping linearly from peak/warmupSteps to peak (0 = no warmup). */
  readonly warmupSteps: number;
  /** Total updates of the run; the cosine reaches its floor here and stays there after. */
  readonly totalSteps: number;
  /** Floor of the cosine as a fraction of the peak, in [0, 1]. */
  readonly minRatio: number;
}

/**
 * Learning rate of update `step` (0-based: the first update is step 0). Warmup gives update k
 * (k < warmupSteps) peak * (k + 1) / warmupSteps, so no update runs at lr 0; the cosine then goes
 * from peak (at step = warmupSteps) to peak * minRatio (at step = totalSteps - 1).
 */
export function learningRateAt(step: number, schedule: LrSchedule): number {
  const { peak, warmupSteps, totalSteps, minRatio } = schedule;
  if (!Number.isInteger(step) || step < 0) {
    throw new CascadeError('BAD_ARGUMENT', `learning-rate step is ${step}, expected an integer >= 0.`, {
      path: 'step',
    });
  }
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const decaySteps = totalSteps - 1 - warmupSteps;
  if (decaySteps <= 0) return peak;
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  const floor = peak * minRatio;
  return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
