import { tf } from '../backend/tf.js';
import { onesInit, type ParamLookup, type ParamSpec, zerosInit } from './param-spec.js';

/** Parameters `<prefix>.gamma` (ones) and `<prefix>.beta` (zeros), both [dim]. */
export function layerNormParams(prefix: string, dim: number): ParamSpec[] {
  return [
    { name: `${prefix}.gamma`, shape: [dim], init: onesInit() },
    { name: `${prefix}.beta`, shape: [dim], init: zerosInit() },
  ];
}

/** LayerNorm over the last axis (per token), x [..., D]. */
export function layerNorm(p: ParamLookup, prefix: string, x: tf.Tensor, epsilon = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  return tf.add(tf.mul(y, p(`${prefix}.gamma`)), p(`${prefix}.beta`));
}
