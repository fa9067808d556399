/**
 * What every sampler shares: the denoiser contract, options, progress, and the timestep
 * sub-sequence a run visits.
 */
import type { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';

/**
 * Predicts eps for the current state x_t [B, T, H, W, 3] at integer timestep t. Returns a new
 * tensor (the sampler disposes it); must not dispose or return `xt` itself. May be async (a
 * worker, a remote model). Classifier-free guidance, feature injections and other per-step
 * conditioning live here (see guided-denoiser.ts), so the samplers stay pure schedule math.
 */
export type Denoiser = (
  xt: tf.Tensor5D,
  t: number,
  info: { readonly step: number; readonly totalSteps: number },
) => tf.Tensor | Promise<tf.Tensor>;

/**
 * How `steps` sampling steps are spread over the training steps 0..N-1:
 * - 'trailing' (default): t_i = round(N - i*N/steps) - 1, i = 0..steps-1, e.g. N = 1000,
 *   50 steps: 999, 979, ..., 19. The first step is the noisiest training step, so a run from
 *   pure noise starts where the model was trained on pure noise (Lin et al. 2024).
 * - 'uniform' (the DDIM paper's "leading" spacing): t_i = floor(i*N/steps), from
 *   i = steps-1 down to 0, e.g. 980, 960, ..., 0. It never visits t = N-1.
 */
export type TimestepSpacing = 'trailing' | 'uniform';

export interface SamplerProgress {
  /** 1-based index of the finished step. */
  readonly step: number;
  readonly totalSteps: number;
  /** Timestep the model was evaluated at in this step. */
  readonly t: number;
}

export interface SamplerOptions {
  /** Steps of the full schedule (from t = N-1), e.g. 50; a run from K visits a subset. */
  readonly steps: number;
  readonly spacing?: TimestepSpacing | undefined;
  /**
   * K: the noise level of the initial state (x_K = sqrt(abar[K]) x0 + sqrt(1-abar[K]) eps).
   * Default: the state is pure noise and the full schedule runs. See `samplerTimesteps` for
   * exactly which steps run.
   */
  readonly startStep?: number | undefined;
  /** Clip each predicted x0 to [-1, 1] (eps is recomputed to match). Default false. */
  readonly clipX0?: boolean | undefined;
  /** Cancels between steps with CascadeError ABORTED. */
  readonly signal?: AbortSignal | undefined;
  /** Called after every step. */
  readonly onProgress?: ((progress: SamplerProgress) => void) | undefined;
}

/**
 * The timesteps a run evaluates the model at, noisiest first. Without `startStep` it is the
 * full schedule of `steps` steps (see TimestepSpacing). With K = startStep, the full schedule
 * is cut to its entries at or below K and the first of those is replaced by K itself, so the
 * first model call sees the true noise level of the given state and the step count stays that
 * of the sub-sequence. If no entry is at or below K, the run is the single step [K].
 *
 * Example: N = 1000, 50 trailing steps, K = 700: the entries <= 700 are 699, 679, ..., 19
 * (35 of them), so the run is 700, 679, 659, ..., 19: 35 steps. With 'uniform' spacing the
 * entries <= 700 are 700, 680, ..., 0: 36 steps.
 *
 * After the last listed timestep every sampler steps to "clean" (abar = 1).
 */
export function samplerTimesteps(
  trainSteps: number,
  steps: number,
  spacing: TimestepSpacing = 'trailing',
  startStep?: number,
): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw new CascadeError('BAD_ARGUMENT', `steps is ${steps}, expected an integer in 1..${trainSteps}.`, {
      path: 'steps',
    });
  }
  if (startStep !== undefined && (!Number.isInteger(startStep) || startStep < 0 || startStep >= trainSteps)) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `startStep (K) is ${startStep}, expected an integer in 0..${trainSteps - 1}.`,
      { path: 'startStep' },
    );
  }
  const full: number[] = [];
  for (let i = 0; i < steps; i++) {
    full.push(
      spacing === 'trailing'
        ? Math.round(trainSteps - (i * trainSteps) / steps) - 1
        : Math.floor(((steps - 1 - i) * trainSteps) / steps),
    );
  }
  if (startStep === undefined) return full;
  const below = full.filter((t) => t <= startStep);
  if (below.length === 0) return [startStep];
  below[0] = startStep;
  return below;
}
