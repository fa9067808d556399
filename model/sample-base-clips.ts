import { tf } from '../backend/tf.js';
import { type Clip, createClip } from '../data/clip.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import { CascadeError, throwIfAborted } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { ddimSample } from './ddim-sampler.js';
import { dpmSolverSample } from './dpm-solver-sampler.js';
import { fillFrameCorrelatedNoise } from './gaussian-noise.js';
import { guidedDenoiser } from './guided-denoiser.js';
import type { NoiseSchedule } from './noise-schedule.js';
import type { VideoUNet } from './video-unet.js';

export interface SampleRequest {
  readonly prompt: string;
  readonly seed: number;
}

export interface SampleBaseClipsOptions {
  /** Sampler steps (default 50). */
  readonly steps?: number | undefined;
  readonly sampler?: 'ddim' | 'dpm-solver' | undefined;
  /**
   * DDIM stochasticity in [0, 1] (default 0: deterministic). The per-step noise of each clip
   * comes from Rng(deriveSeed(seed, 'base-step-noise')), frames correlated like the starting
   * noise. DDIM only.
   */
  readonly eta?: number | undefined;
  /** Classifier-free guidance scale (default 3; 1 = no guidance). */
  readonly guidanceScale?: number | undefined;
  /**
   * Frame correlation of the starting noise, in [0, 1) (default: the schedule's
   * `samplingFrameCorrelation`).
   */
  readonly frameCorrelation?: number | undefined;
  /**
   * Clip each predicted x0 to [-1, 1] (default true): the training clips live in [-1, 1], and
   * early steps from pure noise divide by a tiny sqrt(abar), so an unclipped x0 estimate can
   * be far outside the data range.
   */
  readonly clipX0?: boolean | undefined;
  /** Clips denoised together (default 4); bounds memory, not the result. */
  readonly batch?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * Samples clips at the model's training size from pure noise, one per request: noise (the schedule's
 * sampling noise) from
 * Rng(deriveSeed(seed, 'base-sample')), so a (prompt, seed) pair gives the same clip whatever
 * else is in the batch. Returns clips in [0, 1] (model output clamped from [-1, 1]).
 */
export async function sampleBaseClips(
  unet: VideoUNet,
  schedule: NoiseSchedule,
  requests: readonly SampleRequest[],
  options: SampleBaseClipsOptions = {},
): Promise<Clip[]> {
  const { frames, height, width, maxTokens } = unet.config;
  const steps = options.steps ?? 50;
  const batchSize = options.batch ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new CascadeError('BAD_ARGUMENT', `batch is ${batchSize}, expected an integer >= 1.`, {
      path: 'batch',
    });
  }
  const eta = options.eta ?? 0;
  if (eta !== 0 && options.sampler === 'dpm-solver') {
    throw new CascadeError('BAD_ARGUMENT', `eta is ${eta}, but only the ddim sampler takes eta.`, {
      path: 'eta',
    });
  }
  const frameCorrelation = options.frameCorrelation ?? schedule.samplingFrameCorrelation;
  const tokens = requests.map((r) => tokenizePrompt(r.prompt, maxTokens));
  const clipSize = frames * height * width * 3;
  const out: Clip[] = [];
  for (let start = 0; start < requests.length; start += batchSize) {
    throwIfAborted(options.signal);
    const chunk = requests.slice(start, start + batchSize);
    const n = chunk.length;
    const noise = new Float32Array(n * clipSize);
    const ids = new Int32Array(n * maxTokens);
    chunk.forEach((r, k) => {
      fillFrameCorrelatedNoise(
        noise.subarray(k * clipSize, (k + 1) * clipSize),
        1,
        frames,
        frameCorrelation,
        new Rng(deriveSeed(r.seed, 'base-sample')),
      );
      ids.set(tokens[start + k]!, k * maxTokens);
    });
    const x = tf.tensor5d(noise, [n, frames, height, width, 3]);
    const tokenTensor = tf.tensor2d(ids, [n, maxTokens], 'int32');
    try {
      const denoise = guidedDenoiser(unet, {
        schedule,
        tokens: tokenTensor,
        guidanceScale: options.guidanceScale ?? 3,
      });
      const samplerOptions = { steps, clipX0: options.clipX0 ?? true, signal: options.signal };
      const x0 =
        options.sampler === 'dpm-solver'
          ? await dpmSolverSample(denoise, x, schedule, samplerOptions)
          : await ddimSample(denoise, x, schedule, {
              ...samplerOptions,
              eta,
              seed: chunk.map((r) => deriveSeed(r.seed, 'base-step-noise')),
              frameCorrelation,
            });
      const pixels = tf.tidy(() => tf.div(tf.add(tf.clipByValue(x0, -1, 1), 1), 2));
      x0.dispose();
      const data = (await pixels.data()) as Float32Array;
      pixels.dispose();
      for (let k = 0; k < n; k++) {
        out.push(createClip(frames, height, width, data.slice(k * clipSize, (k + 1) * clipSize)));
      }
    } finally {
      tf.dispose([x, tokenTensor]);
    }
    options.onProgress?.(out.length, requests.length);
  }
  return out;
}
