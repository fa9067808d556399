import { tf } from '../backend/tf.js';
import { conv2d, conv2dParams } from './conv2d.js';
import { groupNorm, groupNormParams } from './group-norm.js';
import type { ParamLookup, ParamSpec } from './param-spec.js';

/** Parameters `<prefix>.norm` and `.conv` (kernel [3, 1, C, C], zero-initialised). */
export function temporalConvParams(prefix: string, channels: number): ParamSpec[] {
  return [
    ...groupNormParams(`${prefix}.norm`, channels),
    ...conv2dParams(`${prefix}.conv`, [3, 1], channels, channels, true),
  ];
}

/**
 * Temporal mixing by a kernel-3 convolution across frames, residual:
 * x [B*T, H, W, C] -> x + conv_t(silu(norm(x))). The conv runs as a 2-D conv with a [3, 1]
 * kernel on the view [B, T, H*W, C] (NHWC with "height" = frames), which is fast on every
 * backend, unlike tf.conv3d on wasm. Zero padding at the first and last frame; any T >= 1.
 */
export function temporalConv(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor4D,
  frames: number,
  groups: number,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const a = groupNorm(p, `${prefix}.norm`, x, groups, { silu: true });
  const mixed = conv2d(p, `${prefix}.conv`, tf.reshape(a, [n / frames, frames, h * w, c]));
  return tf.add(x, tf.reshape(mixed, [n, h, w, c]));
}
