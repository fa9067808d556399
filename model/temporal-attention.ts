import { tf } from '../backend/tf.js';
import { groupNorm, groupNormParams } from './group-norm.js';
import { linear, linearParams } from './linear.js';
import { multiHeadAttention } from './multi-head-attention.js';
import type { ParamLookup, ParamSpec } from './param-spec.js';
import { sinusoidalEmbedding } from './sinusoidal-embedding.js';

/**
 * Parameters `<prefix>.norm`, `.q`, `.k`, `.v` (C -> C) and `.out` (C -> C, zero-initialised).
 * Separate projections rather than one fused C -> 3C: splitting the fused result is a strided
 * copy that costs more on wasm than the two extra matMuls.
 */
export function temporalAttentionParams(prefix: string, channels: number): ParamSpec[] {
  return [
    ...groupNormParams(`${prefix}.norm`, channels),
    ...linearParams(`${prefix}.q`, channels, channels),
    ...linearParams(`${prefix}.k`, channels, channels),
    ...linearParams(`${prefix}.v`, channels, channels),
    ...linearParams(`${prefix}.out`, channels, channels, true),
  ];
}

/**
 * Self-attention across frames, independently at every pixel: x [B*T, H, W, C] -> x + attn,
 * sequences [B*H*W, T, C]. A fixed sinusoidal encoding of the frame index is added before the
 * projections so attention knows frame order; being fixed, it extends to any T.
 */
export function temporalAttention(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor4D,
  frames: number,
  groups: number,
  heads: number,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const b = n / frames;
  const normed = groupNorm(p, `${prefix}.norm`, x, groups);
  const perPixel = tf.reshape(tf.transpose(tf.reshape(normed, [b, frames, h * w, c]), [0, 2, 1, 3]), [
    b * h * w,
    frames,
    c,
  ]);
  const positions = framePositions(frames, c);
  const input = tf.add(perPixel, positions);
  const q = linear(p, `${prefix}.q`, input) as tf.Tensor3D;
  const k = linear(p, `${prefix}.k`, input) as tf.Tensor3D;
  const v = linear(p, `${prefix}.v`, input) as tf.Tensor3D;
  const attended = linear(p, `${prefix}.out`, multiHeadAttention(q, k, v, { heads }));
  const back = tf.transpose(tf.reshape(attended, [b, h * w, frames, c]), [0, 2, 1, 3]);
  return tf.add(x, tf.reshape(back, [n, h, w, c]));
}

/** [1, T, C] sinusoidal frame-index features (dimension rounded up to even, then cut to C). */
function framePositions(frames: number, channels: number): tf.Tensor3D {
  const index = tf.range(0, frames, 1, 'float32') as tf.Tensor1D;
  const even = channels + (channels % 2);
  const features = sinusoidalEmbedding(index, even);
  return tf.reshape(tf.slice(features, [0, 0], [frames, channels]), [1, frames, channels]);
}
