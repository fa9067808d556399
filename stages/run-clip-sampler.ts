import { tf } from '../backend/tf.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import { ddimSample } from '../model/ddim-sampler.js';
import { dpmSolverSample } from '../model/dpm-solver-sampler.js';
import { guidedDenoiser, type InjectionsFor } from '../model/guided-denoiser.js';
import type { ModelStageContext, StageName } from './stage-context.js';

/**
 * Denoises `state` from `startStep` to clean with the clip's sampler, steps, eta (its noise
 * frame-correlated as the clip says) and guidance,
 * using the frozen base (plus per-step feature injections for the tuned cascade). Shared by the
 * base stage and every cascade stage, so all stages sample the same way.
 */
export async function runClipSampler(
  state: tf.Tensor5D,
  startStep: number | undefined,
  seed: number,
  stage: StageName,
  context: ModelStageContext,
  injectionsFor?: InjectionsFor,
): Promise<tf.Tensor5D> {
  const { clip, model } = context;
  const arch = model.unet.config;
  const tokens = tf.tensor2d(tokenizePrompt(clip.prompt, arch.maxTokens), [1, arch.maxTokens], 'int32');
  try {
    const denoise = guidedDenoiser(model.unet, {
      schedule: model.schedule,
      tokens,
      guidanceScale: clip.guidance,
      injectionsFor,
    });
    const options = {
      steps: clip.steps,
      startStep,
      // Pixel-space model: clean samples live in [-1, 1]; clipping each predicted x0 keeps the
      // early, high-noise steps (where x0 = (x - sqrt(1-abar) eps) / sqrt(abar) amplifies any
      // eps error) from blowing colours out.
      clipX0: true,
      signal: context.signal,
      onProgress: (p: { step: number; totalSteps: number }) =>
        context.onProgress?.({
          stage,
          fraction: p.step / p.totalSteps,
          step: p.step,
          totalSteps: p.totalSteps,
        }),
    };
    return clip.sampler === 'ddim'
      ? await ddimSample(denoise, state, model.schedule, {
          ...options,
          eta: clip.eta,
          seed,
          frameCorrelation: clip.frameCorrelation,
        })
      : await dpmSolverSample(denoise, state, model.schedule, options);
  } finally {
    tokens.dispose();
  }
}
