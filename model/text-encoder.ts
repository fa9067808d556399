import { tf } from '../backend/tf.js';
import { layerNorm, layerNormParams } from './layer-norm.js';
import { linear, linearParams } from './linear.js';
import { multiHeadAttention } from './multi-head-attention.js';
import type { ParamLookup, ParamSpec } from './param-spec.js';
import { silu } from './silu.js';

/** Token id 0 is PAD; an all-PAD prompt is the null prompt of classifier-free guidance. */
export const PAD_TOKEN = 0;

/** Logit bias that removes a key from softmax without producing NaN or Inf. */
const MASKED = -1e9;

export interface TextEncoderDims {
  readonly vocabSize: number;
  readonly maxTokens: number;
  readonly textEmbedDim: number;
  readonly textLayers: number;
  readonly attentionHeads: number;
}

export interface EncodedText {
  /** [B, 1 + L, D]: a learned always-visible "null" slot, then the L token features. */
  readonly context: tf.Tensor3D;
  /** [B, 1 + L]: 0 for visible keys (the null slot and real tokens), large negative for PAD. */
  readonly keyBias: tf.Tensor2D;
  /** [B, D]: mean of the token features over non-PAD positions (zeros for the null prompt). */
  readonly pooled: tf.Tensor2D;
}

/**
 * Parameters under `text.`: `token` [V, D], `position` [maxTokens, D], `null` [1, D], then
 * `textLayers` pre-norm transformer layers (`layer.<i>.norm1/.qkv/.out/.norm2/.mlp1/.mlp2`)
 * and `final_norm`. The null slot keeps every softmax well defined when all tokens are PAD.
 */
export function textEncoderParams(dims: TextEncoderDims): ParamSpec[] {
  const d = dims.textEmbedDim;
  const specs: ParamSpec[] = [
    { name: 'text.token', shape: [dims.vocabSize, d], init: { kind: 'normal', std: 1 } },
    { name: 'text.position', shape: [dims.maxTokens, d], init: { kind: 'normal', std: 1 } },
    { name: 'text.null', shape: [1, d], init: { kind: 'normal', std: 1 } },
  ];
  for (let i = 0; i < dims.textLayers; i++) {
    const prefix = `text.layer.${i}`;
    specs.push(
      ...layerNormParams(`${prefix}.norm1`, d),
      ...linearParams(`${prefix}.qkv`, d, 3 * d),
      ...linearParams(`${prefix}.out`, d, d, true),
      ...layerNormParams(`${prefix}.norm2`, d),
      ...linearParams(`${prefix}.mlp1`, d, 4 * d),
      ...linearParams(`${prefix}.mlp2`, 4 * d, d, true),
    );
  }
  specs.push(...layerNormParams('text.final_norm', d));
  return specs;
}

/**
 * tokens [B, L] int32 (L <= maxTokens, 0 = PAD) -> context, key mask and pooled features.
 * Embedding lookup is a one-hot matMul: the vocabulary is small, and its gradient avoids
 * UnsortedSegmentSum (missing on wasm). Ids outside [0, vocabSize) embed as zeros; the
 * tokenizer guarantees the range.
 */
export function encodeText(p: ParamLookup, tokens: tf.Tensor2D, dims: TextEncoderDims): EncodedText {
  const [b, l] = tokens.shape;
  const d = dims.textEmbedDim;
  const oneHot = tf.reshape(tf.oneHot(tf.reshape(tokens, [-1]), dims.vocabSize), [b * l, dims.vocabSize]);
  const embedded = tf.reshape(tf.matMul(oneHot as tf.Tensor2D, p('text.token') as tf.Tensor2D), [b, l, d]);
  const positioned = tf.add(embedded, tf.slice(p('text.position'), [0, 0], [l, d]));
  const nullSlot = tf.tile(tf.reshape(p('text.null'), [1, 1, d]), [b, 1, 1]);
  let x = tf.concat([nullSlot, positioned], 1) as tf.Tensor3D;

  const visible = tf.cast(tf.notEqual(tokens, PAD_TOKEN), 'float32') as tf.Tensor2D;
  const keyVisible = tf.concat([tf.ones([b, 1]), visible], 1);
  const keyBias = tf.mul(tf.sub(1, keyVisible), MASKED) as tf.Tensor2D;

  for (let i = 0; i < dims.textLayers; i++) {
    const prefix = `text.layer.${i}`;
    const qkv = linear(p, `${prefix}.qkv`, layerNorm(p, `${prefix}.norm1`, x)) as tf.Tensor3D;
    const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const attended = multiHeadAttention(q, k, v, { heads: dims.attentionHeads, keyBias });
    x = tf.add(x, linear(p, `${prefix}.out`, attended));
    const hidden = silu(linear(p, `${prefix}.mlp1`, layerNorm(p, `${prefix}.norm2`, x)));
    x = tf.add(x, linear(p, `${prefix}.mlp2`, hidden));
  }
  const context = layerNorm(p, 'text.final_norm', x) as tf.Tensor3D;

  const tokenFeatures = tf.slice(context, [0, 1, 0], [b, l, d]);
  const count = tf.maximum(tf.sum(visible, 1, true), 1);
  const pooled = tf.div(tf.sum(tf.mul(tokenFeatures, tf.expandDims(visible, 2)), 1), count) as tf.Tensor2D;
  return { context, keyBias, pooled };
}
