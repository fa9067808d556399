import { tf } from '../backend/tf.js';
import { onesInit, type ParamLookup, type ParamSpec, zerosInit } from './param-spec.js';

/** Parameters `<prefix>.gamma` (ones) and `<prefix>.beta` (zeros), both [channels]. */
export function groupNormParams(prefix: string, channels: number): ParamSpec[] {
  return [
    { name: `${prefix}.gamma`, shape: [channels], init: onesInit() },
    { name: `${prefix}.beta`, shape: [channels], init: zerosInit() },
  ];
}

/**
 * GroupNorm over a channels-last tensor `[N, ...spatial, C]`: statistics per sample and per
 * group of C / groups channels, across all spatial positions. Frames folded into N are
 * normalised independently (per-frame statistics, as in image UNets).
 */
export function groupNorm(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor,
  groups: number,
  epsilon = 1e-5,
): tf.Tensor {
  const shape = x.shape;
  const n = shape[0]!;
  const c = shape[shape.length - 1]!;
  // 4-D view [N, S, G, C/G]; moments over S and C/G.
  const grouped = tf.reshape(x, [n, -1, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 3], true);
  const normalised = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, epsilon)));
  const y = tf.reshape(normalised, shape);
  return tf.add(tf.mul(y, p(`${prefix}.gamma`)), p(`${prefix}.beta`));
}
