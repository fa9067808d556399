import { tf } from '../backend/tf.js';
import { groupNorm, groupNormParams } from './group-norm.js';
import { linear, linearParams } from './linear.js';
import { multiHeadAttention } from './multi-head-attention.js';
import type { ParamLookup, ParamSpec } from './param-spec.js';

/**
 * Parameters `<prefix>.norm`, `.q` (C -> C), `.k` and `.v` (D -> C, from the text context) and
 * `.out` (C -> C, zero-initialised).
 */
export function crossAttentionParams(prefix: string, channels: number, contextDim: number): ParamSpec[] {
  return [
    ...groupNormParams(`${prefix}.norm`, channels),
    ...linearParams(`${prefix}.q`, channels, channels),
    ...linearParams(`${prefix}.k`, contextDim, channels),
    ...linearParams(`${prefix}.v`, contextDim, channels),
    ...linearParams(`${prefix}.out`, channels, channels, true),
  ];
}

/**
 * Prompt cross-attention: x [B*T, H, W, C] (frames folded into the batch) attends to the
 * text context [B, S, D] of its clip. Queries of all frames of a clip are gathered into one
 * sequence [B, T*H*W, C], so the context is never repeated per frame. `keyBias` [B, S] masks
 * PAD tokens.
 */
export function crossAttention(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor4D,
  context: tf.Tensor3D,
  keyBias: tf.Tensor2D,
  groups: number,
  heads: number,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const b = context.shape[0];
  const normed = tf.reshape(groupNorm(p, `${prefix}.norm`, x, groups), [b, (n / b) * h * w, c]);
  const q = linear(p, `${prefix}.q`, normed) as tf.Tensor3D;
  const k = linear(p, `${prefix}.k`, context) as tf.Tensor3D;
  const v = linear(p, `${prefix}.v`, context) as tf.Tensor3D;
  const attended = multiHeadAttention(q, k, v, { heads, keyBias });
  return tf.add(x, tf.reshape(linear(p, `${prefix}.out`, attended), [n, h, w, c]));
}
