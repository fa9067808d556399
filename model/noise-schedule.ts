/**
 * Discrete diffusion noise schedules (DDPM forward process) and the conversions between the
 * clean sample x0, the noisy sample x_t and the noise eps:
 *   x_t = sqrt(abar[t]) x0 + sqrt(1 - abar[t]) eps
 * Steps are 0-based: t = 0 is the least noisy step (abar[0] = 1 - beta[0]), t = steps - 1 the
 * noisiest. Coefficients are kept in float64; tensors are float32.
 */
import { z } from 'zod';
import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import type { Rng } from '../util/rng.js';
import { fillFrameCorrelatedNoise } from './gaussian-noise.js';

/**
 * Correlation between the noise of two frames of one clip (gaussian-noise.ts), part of the
 * forward process the model is trained on. 0 (the default, and models saved before the field
 * existed) = i.i.d. noise.
 */
const frameCorrelation = z.number().min(0).lt(1).default(0);
/**
 * The frame correlation of the noise drawn at inference (a sampler's starting noise, DDIM's eta
 * noise, the re-noising of pivot replacement and video to video); absent = `frameCorrelation`.
 * Set above the training value it lowers the "temperature" of what differs between frames: a
 * model then starts from frames that differ less than it learnt to expect, and keeps objects
 * more alike across frames (measured for the shipped model in its README).
 */
const samplingFrameCorrelation = z.number().min(0).lt(1).optional();

export const NoiseScheduleConfig = z.discriminatedUnion('kind', [
  /**
   * DDPM linear schedule (Ho et al. 2020): beta linear in t from betaStart to betaEnd. This is
   * the plain linear variant, not the "scaled linear" (linear in sqrt(beta)) of latent
   * diffusion.
   */
  z.strictObject({
    kind: z.literal('linear'),
    steps: z.number().int().min(2).default(1000),
    betaStart: z.number().positive().lt(1).default(1e-4),
    betaEnd: z.number().positive().lt(1).default(0.02),
    frameCorrelation,
    samplingFrameCorrelation,
  }),
  /**
   * Cosine schedule (Nichol & Dhariwal 2021): abar(t) = f(t)/f(0),
   * f(t) = cos^2(((t/T) + s) / (1 + s) * pi/2), betas clipped at maxBeta.
   */
  z.strictObject({
    kind: z.literal('cosine'),
    steps: z.number().int().min(2).default(1000),
    offset: z.number().nonnegative().default(0.008),
    maxBeta: z.number().positive().lt(1).default(0.999),
    frameCorrelation,
    samplingFrameCorrelation,
  }),
]);
export type NoiseScheduleConfig = z.output<typeof NoiseScheduleConfig>;
export type NoiseScheduleConfigInput = z.input<typeof NoiseScheduleConfig>;

/** Timestep(s) for a batch: one for all samples, or one per sample (leading axis). */
export type StepInput = number | ArrayLike<number>;

export class NoiseSchedule {
  readonly config: NoiseScheduleConfig;
  readonly steps: number;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  /** Cumulative product of alphas: abar[t] = prod_{s <= t} (1 - beta[s]). */
  readonly alphasCumprod: Float64Array;

  constructor(input: NoiseScheduleConfigInput) {
    const parsed = NoiseScheduleConfig.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = ['schedule', ...issue.path.map(String)].join('.');
      throw new CascadeError('BAD_ARGUMENT', `${field}: ${issue.message}. Fix the noise schedule config.`, {
        path: field,
      });
    }
    const config = parsed.data;
    this.config = config;
    this.steps = config.steps;
    this.betas = config.kind === 'linear' ? linearBetas(config) : cosineBetas(config);
    this.alphas = this.betas.map((b) => 1 - b);
    this.alphasCumprod = new Float64Array(this.steps);
    let product = 1;
    for (let t = 0; t < this.steps; t++) {
      product *= this.alphas[t]!;
      this.alphasCumprod[t] = product;
    }
  }

  /**
   * eps for clips [B, T, ...] (frames on axis 1) from this process's prior (the training
   * noise): standard normal, frames of a clip correlated by `config.frameCorrelation`.
   */
  noise(shape: readonly number[], rng: Rng): tf.Tensor {
    return correlatedNoise(shape, this.config.frameCorrelation, rng);
  }

  /** The frame correlation of inference noise (see samplingFrameCorrelationOf). */
  get samplingFrameCorrelation(): number {
    return samplingFrameCorrelationOf(this.config);
  }

  /**
   * Like `noise`, with the frames correlated by `frameCorrelation` (default
   * `samplingFrameCorrelation`): every sampler's noise.
   */
  samplingNoise(
    shape: readonly number[],
    rng: Rng,
    frameCorrelation = this.samplingFrameCorrelation,
  ): tf.Tensor {
    return correlatedNoise(shape, frameCorrelation, rng);
  }

  /** abar[t]; t = -1 means "clean" (abar = 1), the target of the last sampler step. */
  abar(t: number): number {
    if (t === -1) return 1;
    this.checkStep(t);
    return this.alphasCumprod[t]!;
  }

  /** x_t = sqrt(abar) x0 + sqrt(1 - abar) eps. x0, eps: [B, ...]; t one step or one per sample. */
  qSample(x0: tf.Tensor, t: StepInput, eps: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [a, s] = this.coefficients(t, x0, (abar) => [Math.sqrt(abar), Math.sqrt(1 - abar)]);
      return tf.add(tf.mul(a, x0), tf.mul(s, eps));
    });
  }

  /** x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar). */
  predictX0(xt: tf.Tensor, t: StepInput, eps: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [a, s] = this.coefficients(t, xt, (abar) => [
        1 / Math.sqrt(abar),
        Math.sqrt(1 - abar) / Math.sqrt(abar),
      ]);
      return tf.sub(tf.mul(a, xt), tf.mul(s, eps));
    });
  }

  /** eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar). */
  epsFromX0(xt: tf.Tensor, t: StepInput, x0: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [a, s] = this.coefficients(t, xt, (abar) => [
        1 / Math.sqrt(1 - abar),
        Math.sqrt(abar) / Math.sqrt(1 - abar),
      ]);
      return tf.sub(tf.mul(a, xt), tf.mul(s, x0));
    });
  }

  /** The v target (Salimans & Ho 2022): v = sqrt(abar) eps - sqrt(1 - abar) x0. */
  velocity(x0: tf.Tensor, t: StepInput, eps: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [a, s] = this.coefficients(t, x0, (abar) => [Math.sqrt(abar), Math.sqrt(1 - abar)]);
      return tf.sub(tf.mul(a, eps), tf.mul(s, x0));
    });
  }

  /** eps = sqrt(abar) v + sqrt(1 - abar) x_t (the inverse of `velocity` given x_t). */
  epsFromV(xt: tf.Tensor, t: StepInput, v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [a, s] = this.coefficients(t, xt, (abar) => [Math.sqrt(abar), Math.sqrt(1 - abar)]);
      return tf.add(tf.mul(a, v), tf.mul(s, xt));
    });
  }

  /** Signal-to-noise ratio abar / (1 - abar) at step t. */
  snr(t: number): number {
    const abar = this.abar(t);
    return abar / (1 - abar);
  }

  private checkStep(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.steps) {
      throw new CascadeError('BAD_ARGUMENT', `Timestep ${t} is outside 0..${this.steps - 1} (integer).`, {
        path: 't',
      });
    }
  }

  /**
   * Two coefficients as scalars (one step) or [B, 1, ..., 1] tensors (one step per sample)
   * that broadcast against `like`.
   */
  private coefficients(
    t: StepInput,
    like: tf.Tensor,
    f: (abar: number) => [number, number],
  ): [tf.Tensor, tf.Tensor] {
    if (typeof t === 'number') {
      this.checkStep(t);
      const [a, s] = f(this.alphasCumprod[t]!);
      return [tf.scalar(a), tf.scalar(s)];
    }
    const batch = like.shape[0];
    if (t.length !== batch) {
      throw new CascadeError('BAD_ARGUMENT', `${t.length} timesteps given for a batch of ${batch}.`, {
        path: 't',
      });
    }
    const a = new Float32Array(t.length);
    const s = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) {
      const step = t[i]!;
      this.checkStep(step);
      [a[i], s[i]] = f(this.alphasCumprod[step]!);
    }
    const shape = [t.length, ...like.shape.slice(1).map(() => 1)];
    return [tf.tensor(a, shape), tf.tensor(s, shape)];
  }
}

function linearBetas(config: Extract<NoiseScheduleConfig, { kind: 'linear' }>): Float64Array {
  const betas = new Float64Array(config.steps);
  for (let t = 0; t < config.steps; t++) {
    betas[t] = config.betaStart + ((config.betaEnd - config.betaStart) * t) / (config.steps - 1);
  }
  return betas;
}

function cosineBetas(config: Extract<NoiseScheduleConfig, { kind: 'cosine' }>): Float64Array {
  const f = (t: number): number =>
    Math.cos(((t / config.steps + config.offset) / (1 + config.offset)) * (Math.PI / 2)) ** 2;
  const betas = new Float64Array(config.steps);
  for (let t = 0; t < config.steps; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), config.maxBeta);
  return betas;
}

/** The frame correlation of a model's inference noise: `samplingFrameCorrelation`, else `frameCorrelation`. */
export function samplingFrameCorrelationOf(config: NoiseScheduleConfig): number {
  return config.samplingFrameCorrelation ?? config.frameCorrelation;
}

function correlatedNoise(shape: readonly number[], frameCorrelation: number, rng: Rng): tf.Tensor {
  const [clips = 1, frames = 1] = shape;
  let n = 1;
  for (const d of shape) n *= d;
  const values = fillFrameCorrelatedNoise(new Float32Array(n), clips, frames, frameCorrelation, rng);
  return tf.tensor(values, [...shape], 'float32');
}
