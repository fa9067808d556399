/**
 * The base video diffusion UNet. Its output is, per `config.prediction`, either epsilon (the
 * noise added by the forward process, as in the Self-Cascade paper's base models) or the
 * velocity v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022). `guidedDenoiser`
 * turns either into the eps the samplers use.
 *
 * Factorised space-time design (no tf.conv3d, which is slow on wasm): frames are folded into
 * the batch, x [B, T, H, W, 3] -> [B*T, H, W, 3], and every spatial layer is a 2-D layer.
 * After each residual block comes temporal mixing across frames (a kernel-3 conv along T
 * and/or per-pixel self-attention along T). Spatial self-attention and prompt cross-attention
 * run at the lowest `attentionLevels` resolutions (default 1: the last encoder level, the mid
 * block and the first decoder level); temporal attention, when listed, at the lowest
 * `temporalAttentionLevels` (default all). The timestep embedding plus a projection of the
 * pooled prompt modulates every residual block (scale/shift).
 *
 * Layout for `channels = [c0, c1, c2]` (3 levels), R = resBlocksPerLevel, attentionLevels 1:
 *   in.conv                                   [B*T, H, W, c0]
 *   down.0: R x (res, temporal)               [B*T, H, W, c0]        -> tap 0, skip 0, downsample
 *   down.1: R x (res, temporal)               [B*T, H/2, W/2, c1]    -> tap 1, skip 1, downsample
 *   down.2: R x (res, attn, cross, temporal)  [B*T, H/4, W/4, c2]    -> tap 2, skip 2
 *   mid: (res, attn, cross, temporal), (res, temporal)  [B*T, H/4, W/4, c2] -> tap 3
 *   up.2: concat skip 2, R x (res, attn, cross, temporal), upsample
 *   up.1: concat skip 1, R x (res, temporal), upsample
 *   up.0: concat skip 0, R x (res, temporal)
 *   out: norm, silu, conv -> [B*T, H, W, 3] -> prediction [B, T, H, W, 3]
 * With `patchSize` p > 1 the input is first folded space-to-depth ([B*T, H/p, W/p, 3p^2]), every
 * level runs at 1/p of the sizes above, and the output conv's 3p^2 channels unfold back.
 *
 * Taps and injections (the Self-Cascade feature points): N = levels + 1 points, the output of
 * every encoder level (after its blocks, before downsampling) and the output of the mid block.
 * With 3 levels N = 4, the paper's N. At point n the network computes h_n, adds injections[n]
 * if given (h_n <- h_n + inj_n), records the sum as taps[n] if asked, and continues with the
 * sum (so the skip connection and the next level both see the injected feature).
 */
import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import { conv2d, conv2dParams } from './conv2d.js';
import { crossAttention, crossAttentionParams } from './cross-attention.js';
import { groupNorm, groupNormParams } from './group-norm.js';
import { linear, linearParams } from './linear.js';
import {
  checkArrays,
  countParameters,
  createParams,
  lookupParams,
  type ParamLookup,
  type ParamSpec,
  paramsFromArrays,
} from './param-spec.js';
import { resBlock, resBlockParams } from './res-block.js';
import { depthToSpace, spaceToDepth, upsampleNearest2x } from './resample.js';
import { silu } from './silu.js';
import { sinusoidalEmbedding } from './sinusoidal-embedding.js';
import { spatialAttention, spatialAttentionParams } from './spatial-attention.js';
import { temporalAttention, temporalAttentionParams } from './temporal-attention.js';
import { temporalConv, temporalConvParams } from './temporal-conv.js';
import { type EncodedText, encodeText, textEncoderParams } from './text-encoder.js';
import {
  hasSpatialAttention,
  hasTemporalAttention,
  levelScale,
  parseVideoUNetConfig,
  tapCount,
  tapShapes,
  type VideoUNetConfig,
} from './video-unet-config.js';

/** Diffusion timesteps: one per clip, or one number for the whole batch. */
export type TimestepInput = tf.Tensor1D | number | readonly number[];

export interface VideoUNetApplyOptions {
  /** injections[n] [B*T, h_n, w_n, c_n] is added at tap point n; undefined entries are skipped. */
  readonly injections?: readonly (tf.Tensor | undefined)[] | undefined;
  /** Return the N tap features (after injection). */
  readonly collectTaps?: boolean | undefined;
  /** Stop after the mid block and return only the taps (no prediction). */
  readonly encoderOnly?: boolean | undefined;
  /** Multiplier on the spatial self-attention logits (Attn-SF baseline); default 1. */
  readonly attentionLogitScale?: number | undefined;
  /** Per-call replacements of named parameters (LoRA: W + BA), same shapes as the originals. */
  readonly paramOverrides?: ReadonlyMap<string, tf.Tensor> | undefined;
}

export interface VideoUNetOutput {
  /** Predicted eps or v (`config.prediction`) [B, T, H, W, 3]; absent when `encoderOnly`. */
  readonly prediction?: tf.Tensor5D;
  /** taps[n] [B*T, h_n, w_n, c_n]; present when `collectTaps` or `encoderOnly`. */
  readonly taps?: tf.Tensor4D[];
}

export interface CreateVideoUNetOptions {
  readonly seed: number;
  /** Default true (a model being trained); the cascade freezes the base. */
  readonly trainable?: boolean;
}

/** Every parameter of the architecture, in a stable order (the order of weights files). */
export function videoUNetParamSpecs(config: VideoUNetConfig): ParamSpec[] {
  const c = config;
  const e = c.timeEmbedDim;
  const levels = c.channels.length;
  const specs: ParamSpec[] = [
    ...textEncoderParams(c),
    ...linearParams('time.mlp1', e, e),
    ...linearParams('time.mlp2', e, e),
    ...linearParams('time.text', c.textEmbedDim, e),
    ...conv2dParams('in.conv', [3, 3], 3 * c.patchSize ** 2, c.channels[0]!),
  ];
  const blockParams = (
    prefix: string,
    i: number,
    inCh: number,
    ch: number,
    level: number,
    attention = hasSpatialAttention(c, level),
  ): void => {
    specs.push(...resBlockParams(`${prefix}.res.${i}`, inCh, ch, e));
    if (attention) {
      specs.push(...spatialAttentionParams(`${prefix}.attn.${i}`, ch));
      specs.push(...crossAttentionParams(`${prefix}.cross.${i}`, ch, c.textEmbedDim));
    }
    if (c.temporalMixing.includes('conv')) specs.push(...temporalConvParams(`${prefix}.tconv.${i}`, ch));
    if (hasTemporalAttention(c, level)) specs.push(...temporalAttentionParams(`${prefix}.tattn.${i}`, ch));
  };
  let ch = c.channels[0]!;
  for (let n = 0; n < levels; n++) {
    const out = c.channels[n]!;
    for (let r = 0; r < c.resBlocksPerLevel; r++) {
      blockParams(`down.${n}`, r, r === 0 ? ch : out, out, n);
    }
    ch = out;
    if (n < levels - 1) specs.push(...conv2dParams(`down.${n}.downsample`, [3, 3], ch, ch));
  }
  blockParams('mid', 0, ch, ch, levels - 1, true);
  blockParams('mid', 1, ch, ch, levels - 1, false);
  for (let n = levels - 1; n >= 0; n--) {
    const out = c.channels[n]!;
    for (let r = 0; r < c.resBlocksPerLevel; r++) {
      blockParams(`up.${n}`, r, r === 0 ? ch + out : out, out, n);
    }
    ch = out;
    if (n > 0) specs.push(...conv2dParams(`up.${n}.upsample`, [3, 3], ch, ch));
  }
  specs.push(
    ...groupNormParams('out.norm', ch),
    ...conv2dParams('out.conv', [3, 3], ch, 3 * c.patchSize ** 2, true),
  );
  return specs;
}

export class VideoUNet {
  readonly config: VideoUNetConfig;
  /** Named variables in `videoUNetParamSpecs` order. */
  readonly params: Map<string, tf.Variable>;
  private disposed = false;

  private constructor(config: VideoUNetConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A freshly initialised model; the same seed gives the same weights on every backend. */
  static create(config: VideoUNetConfig, options: CreateVideoUNetOptions): VideoUNet {
    const parsed = parseVideoUNetConfig(config);
    return new VideoUNet(
      parsed,
      createParams(videoUNetParamSpecs(parsed), options.seed, options.trainable ?? true),
    );
  }

  /**
   * A model from stored values (names and sizes must match the config; INVALID_WEIGHTS
   * otherwise, naming `path`). Frozen (not trainable) unless asked.
   */
  static fromWeights(
    config: VideoUNetConfig,
    weights: ReadonlyMap<string, Float32Array>,
    options: { trainable?: boolean; path?: string } = {},
  ): VideoUNet {
    const parsed = parseVideoUNetConfig(config);
    const specs = videoUNetParamSpecs(parsed);
    checkArrays(specs, weights, options.path);
    return new VideoUNet(parsed, paramsFromArrays(specs, weights, options.trainable ?? false, options.path));
  }

  /** Number of tap / injection points (levels + 1). */
  get tapCount(): number {
    return tapCount(this.config);
  }

  /** Shapes of the taps for a clip batch [B, T, H, W, 3]. */
  tapShapes(
    batch: number,
    frames: number,
    height: number,
    width: number,
  ): [number, number, number, number][] {
    return tapShapes(this.config, batch, frames, height, width);
  }

  parameterCount(): number {
    return countParameters(videoUNetParamSpecs(this.config));
  }

  /** Freezes (false) or unfreezes (true) every parameter. */
  setTrainable(trainable: boolean): void {
    for (const v of this.params.values()) v.trainable = trainable;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.params.values()].filter((v) => v.trainable);
  }

  /** Current values, by name, in parameter order (for saving). */
  getWeights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.params) out.set(name, v.dataSync() as Float32Array);
    return out;
  }

  /**
   * The conditioning embedding [B, E] fed to the residual blocks: MLP(sinusoid(t)) plus a
   * projection of the pooled prompt. Exposed for modules that reuse it (feature upsamplers).
   */
  embed(t: TimestepInput, tokens: tf.Tensor2D, paramOverrides?: ReadonlyMap<string, tf.Tensor>): tf.Tensor2D {
    this.checkAlive();
    const batch = tokens.shape[0];
    this.checkTokens(tokens, batch);
    return tf.tidy(() => {
      const p = lookupParams(this.params, paramOverrides);
      return this.embedding(p, timesteps(t, batch), encodeText(p, tokens, this.config));
    });
  }

  /**
   * x [B, T, H, W, 3] (H, W divisible by patchSize * 2^(levels-1)), t [B] in 0..999, tokens
   * [B, L] int32 (0 = PAD) -> predicted eps or v [B, T, H, W, 3] and/or the taps. Never disposes its inputs.
   */
  apply(
    x: tf.Tensor5D,
    t: TimestepInput,
    tokens: tf.Tensor2D,
    options: VideoUNetApplyOptions = {},
  ): VideoUNetOutput {
    this.checkAlive();
    const [batch, frames, height, width] = this.checkInput(x);
    this.checkTokens(tokens, batch);
    const shapes = this.tapShapes(batch, frames, height, width);
    this.checkInjections(options.injections, shapes);
    const encoderOnly = options.encoderOnly ?? false;
    const collect = encoderOnly || (options.collectTaps ?? false);

    return tf.tidy(() => {
      const c = this.config;
      const p = lookupParams(this.params, options.paramOverrides);
      const levels = c.channels.length;
      const text = encodeText(p, tokens, c);
      const emb = this.embedding(p, timesteps(t, batch), text);
      // One embedding row per frame: [B, E] -> [B*T, E] (clip-major, matching the frame fold).
      const embFrames = tf.reshape(tf.tile(tf.expandDims(emb, 1), [1, frames, 1]), [
        batch * frames,
        -1,
      ]) as tf.Tensor2D;
      const taps: tf.Tensor4D[] = [];
      const tapPoint = (n: number, h: tf.Tensor4D): tf.Tensor4D => {
        const injection = options.injections?.[n];
        const out: tf.Tensor4D = injection === undefined ? h : tf.add(h, injection as tf.Tensor4D);
        if (collect) taps.push(out);
        return out;
      };
      // Each block in its own tidy: without gradients its intermediates are freed as soon as it
      // returns (at 4x scale one block's activations are hundreds of MB); under a gradient tape
      // the tensors the backward pass needs are kept by the engine anyway.
      const block = (
        prefix: string,
        i: number,
        hIn: tf.Tensor4D,
        level: number,
        attention = hasSpatialAttention(c, level),
      ): tf.Tensor4D =>
        tf.tidy(() => {
          let h = resBlock(p, `${prefix}.res.${i}`, hIn, embFrames, c.groups);
          if (attention) {
            h = spatialAttention(
              p,
              `${prefix}.attn.${i}`,
              h,
              c.groups,
              c.attentionHeads,
              options.attentionLogitScale,
            );
            h = crossAttention(
              p,
              `${prefix}.cross.${i}`,
              h,
              text.context,
              text.keyBias,
              c.groups,
              c.attentionHeads,
            );
          }
          for (const kind of c.temporalMixing) {
            if (kind === 'conv') h = temporalConv(p, `${prefix}.tconv.${i}`, h, frames, c.groups);
            else if (hasTemporalAttention(c, level)) {
              h = temporalAttention(p, `${prefix}.tattn.${i}`, h, frames, c.groups, c.attentionHeads);
            }
          }
          return h;
        });

      const pixels = tf.reshape(x, [batch * frames, height, width, 3]) as tf.Tensor4D;
      let h = conv2d(p, 'in.conv', spaceToDepth(pixels, c.patchSize));
      const skips: tf.Tensor4D[] = [];
      for (let n = 0; n < levels; n++) {
        for (let r = 0; r < c.resBlocksPerLevel; r++) h = block(`down.${n}`, r, h, n);
        h = tapPoint(n, h);
        skips.push(h);
        if (n < levels - 1) h = conv2d(p, `down.${n}.downsample`, h, 2);
      }
      h = block('mid', 0, h, levels - 1, true);
      h = block('mid', 1, h, levels - 1, false);
      h = tapPoint(levels, h);
      if (encoderOnly) return { taps };

      for (let n = levels - 1; n >= 0; n--) {
        h = tf.concat([h, skips[n]!], 3);
        for (let r = 0; r < c.resBlocksPerLevel; r++) h = block(`up.${n}`, r, h, n);
        if (n > 0) h = conv2d(p, `up.${n}.upsample`, upsampleNearest2x(h));
      }
      h = conv2d(p, 'out.conv', groupNorm(p, 'out.norm', h, c.groups, { silu: true }) as tf.Tensor4D);
      h = depthToSpace(h, c.patchSize);
      const prediction = tf.reshape(h, [batch, frames, height, width, 3]) as tf.Tensor5D;
      return collect ? { prediction, taps } : { prediction };
    }) as VideoUNetOutput;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.params.values()) v.dispose();
    this.disposed = true;
  }

  private embedding(p: ParamLookup, t: tf.Tensor1D, text: EncodedText): tf.Tensor2D {
    const e = this.config.timeEmbedDim;
    const time = linear(p, 'time.mlp2', silu(linear(p, 'time.mlp1', sinusoidalEmbedding(t, e))));
    return tf.add(time, linear(p, 'time.text', text.pooled)) as tf.Tensor2D;
  }

  private checkAlive(): void {
    if (this.disposed) throw new CascadeError('INTERNAL', 'This VideoUNet has been disposed.');
  }

  private checkInput(x: tf.Tensor): [number, number, number, number] {
    const factor = levelScale(this.config, this.config.channels.length - 1);
    const [b, t, h, w, ch] = x.shape;
    if (x.rank !== 5 || ch !== 3) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `UNet input x has shape [${x.shape.join(', ')}], expected [B, T, H, W, 3].`,
        {
          path: 'x',
        },
      );
    }
    if (h! % factor !== 0 || w! % factor !== 0) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `UNet input is ${h}x${w}; height and width must be divisible by patchSize * 2^(levels-1) = ${factor} for this architecture.`,
        { path: 'x' },
      );
    }
    return [b!, t!, h!, w!];
  }

  private checkTokens(tokens: tf.Tensor, batch: number): void {
    if (tokens.rank !== 2 || tokens.dtype !== 'int32' || tokens.shape[0] !== batch) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `tokens are ${tokens.dtype} [${tokens.shape.join(', ')}], expected int32 [${batch}, L] (one row per clip).`,
        { path: 'tokens' },
      );
    }
    const length = tokens.shape[1]!;
    if (length < 1 || length > this.config.maxTokens) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `tokens have length ${length}, expected 1..${this.config.maxTokens} (maxTokens of the model); shorten the prompt.`,
        { path: 'tokens' },
      );
    }
  }

  private checkInjections(
    injections: readonly (tf.Tensor | undefined)[] | undefined,
    shapes: readonly (readonly number[])[],
  ): void {
    if (injections === undefined) return;
    if (injections.length > shapes.length) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${injections.length} injections given, the model has ${shapes.length} tap points.`,
        { path: 'injections' },
      );
    }
    injections.forEach((inj, n) => {
      if (inj === undefined) return;
      const want = shapes[n]!;
      if (inj.rank !== 4 || inj.shape.some((d, i) => d !== want[i])) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `injections[${n}] has shape [${inj.shape.join(', ')}], expected [${want.join(', ')}] (the tap shape).`,
          { path: `injections.${n}` },
        );
      }
    });
  }
}

/** Timesteps as a float [B] tensor (a number is broadcast to the batch). */
function timesteps(t: TimestepInput, batch: number): tf.Tensor1D {
  if (typeof t === 'number') return tf.fill([batch], t, 'float32') as tf.Tensor1D;
  if (Array.isArray(t) || !(t instanceof tf.Tensor)) {
    const values = t as readonly number[];
    if (values.length !== batch) {
      throw new CascadeError('BAD_ARGUMENT', `${values.length} timesteps given for a batch of ${batch}.`, {
        path: 't',
      });
    }
    return tf.tensor1d([...values], 'float32');
  }
  if (t.rank !== 1 || t.shape[0] !== batch) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `timesteps have shape [${t.shape.join(', ')}], expected [${batch}].`,
      {
        path: 't',
      },
    );
  }
  return tf.cast(t, 'float32');
}
