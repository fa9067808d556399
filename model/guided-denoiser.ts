import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import type { NoiseSchedule } from './noise-schedule.js';
import type { Denoiser } from './sample-options.js';
import { PAD_TOKEN } from './text-encoder.js';
import type { VideoUNet } from './video-unet.js';

/**
 * Per-call feature injections for the model (tuned Self-Cascade: the pivot's encoder features
 * passed through the upsamplers). Called inside the denoiser's tf.tidy with the batch the
 * model will see: `xt` and `tokens` are [2B, ...] under guidance (conditional half first, then
 * the all-PAD half) and [B, ...] otherwise. Each injection's leading dimension may be the
 * model batch times frames, or B*T, in which case it is reused for both halves. Tensors created
 * inside are released after the call.
 */
export type InjectionsFor = (
  xt: tf.Tensor5D,
  t: number,
  tokens: tf.Tensor2D,
) => readonly (tf.Tensor | undefined)[] | undefined;

export interface GuidedDenoiserOptions {
  /** The model's noise schedule: turns a v-prediction model's output into eps. */
  readonly schedule: NoiseSchedule;
  /** Prompt tokens [B, L] int32 (0 = PAD); the caller keeps ownership. */
  readonly tokens: tf.Tensor2D;
  /**
   * Classifier-free guidance scale w: eps = eps_null + w (eps_cond - eps_null). 1 (default)
   * is the plain conditional model and costs one batch; any other value runs the conditional
   * and the null (all-PAD) prompt in one batched call of 2B clips.
   */
  readonly guidanceScale?: number | undefined;
  readonly injectionsFor?: InjectionsFor | undefined;
  /** Passed to `VideoUNet.apply` (Attn-SF baseline). */
  readonly attentionLogitScale?: number | undefined;
  /** Passed to `VideoUNet.apply` (LoRA). */
  readonly paramOverrides?: ReadonlyMap<string, tf.Tensor> | undefined;
}

/**
 * A `Denoiser` that runs the UNet with classifier-free guidance and optional injections and
 * returns eps whatever the model predicts. Guidance combines the raw predictions; for a
 * v model that equals guiding eps, because eps = sqrt(abar) v + sqrt(1 - abar) x_t is affine
 * in v with the same x_t in both halves.
 */
export function guidedDenoiser(unet: VideoUNet, options: GuidedDenoiserOptions): Denoiser {
  const scale = options.guidanceScale ?? 1;
  if (!Number.isFinite(scale)) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `guidanceScale is ${scale}, expected a finite number (e.g. 1 to 7.5).`,
      {
        path: 'guidanceScale',
      },
    );
  }
  const guided = scale !== 1;
  return (xt, t) =>
    tf.tidy(() => {
      const batch = xt.shape[0];
      const x = guided ? (tf.concat([xt, xt], 0) as tf.Tensor5D) : xt;
      const tokens = guided
        ? (tf.concat([options.tokens, tf.fill(options.tokens.shape, PAD_TOKEN, 'int32')], 0) as tf.Tensor2D)
        : options.tokens;
      let injections = options.injectionsFor?.(x, t, tokens);
      if (guided && injections) {
        const perHalf = batch * xt.shape[1];
        injections = injections.map((inj) =>
          inj !== undefined && inj.shape[0] === perHalf ? tf.concat([inj, inj], 0) : inj,
        );
      }
      const raw = unet.apply(x, t, tokens, {
        injections,
        attentionLogitScale: options.attentionLogitScale,
        paramOverrides: options.paramOverrides,
      }).prediction!;
      let prediction = raw;
      if (guided) {
        const [cond, uncond] = tf.split(raw, 2, 0);
        prediction = tf.add(uncond!, tf.mul(tf.sub(cond!, uncond!), scale));
      }
      return unet.config.prediction === 'v' ? options.schedule.epsFromV(xt, t, prediction) : prediction;
    });
}
