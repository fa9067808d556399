import { tf } from '../backend/tf.js';

/** SiLU (swish) x * sigmoid(x), built from sigmoid so every backend has it and its gradient. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}
