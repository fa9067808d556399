import { tf } from '../backend/tf.js';
import { groupNorm, groupNormParams } from './group-norm.js';
import { linear, linearParams } from './linear.js';
import { multiHeadAttention } from './multi-head-attention.js';
import type { ParamLookup, ParamSpec } from './param-spec.js';

/**
 * Parameters `<prefix>.norm`, `.q`, `.k`, `.v` (C -> C) and `.out` (C -> C, zero-initialised).
 * Separate projections rather than one fused C -> 3C: splitting the fused result is a strided
 * copy that costs more on wasm than the two extra matMuls.
 */
export function spatialAttentionParams(prefix: string, channels: number): ParamSpec[] {
  return [
    ...groupNormParams(`${prefix}.norm`, channels),
    ...linearParams(`${prefix}.q`, channels, channels),
    ...linearParams(`${prefix}.k`, channels, channels),
    ...linearParams(`${prefix}.v`, channels, channels),
    ...linearParams(`${prefix}.out`, channels, channels, true),
  ];
}

/**
 * Self-attention among the H*W positions of each frame: x [N, H, W, C] -> x + attn. Used only
 * at the lowest resolution, where H*W is small. `logitScale` multiplies the logits (1 by
 * default; the Attn-SF baseline sets sqrt(log n_test / log n_train)).
 */
export function spatialAttention(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor4D,
  groups: number,
  heads: number,
  logitScale = 1,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const normed = tf.reshape(groupNorm(p, `${prefix}.norm`, x, groups), [n, h * w, c]);
  const q = linear(p, `${prefix}.q`, normed) as tf.Tensor3D;
  const k = linear(p, `${prefix}.k`, normed) as tf.Tensor3D;
  const v = linear(p, `${prefix}.v`, normed) as tf.Tensor3D;
  const attended = multiHeadAttention(q, k, v, { heads, logitScale });
  return tf.add(x, tf.reshape(linear(p, `${prefix}.out`, attended), [n, h, w, c]));
}
