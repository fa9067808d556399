import { tf } from '../backend/tf.js';
import { fanInInit, type ParamLookup, type ParamSpec, zerosInit } from './param-spec.js';

/**
 * Dense layer over the last axis: `x [..., inDim] -> [..., outDim]`. Parameters `<prefix>.kernel`
 * [inDim, outDim] and `<prefix>.bias` [outDim]. `zero` initialises the kernel to zero (last
 * projection of a residual branch, so the branch starts as the identity).
 */
export function linearParams(prefix: string, inDim: number, outDim: number, zero = false): ParamSpec[] {
  return [
    { name: `${prefix}.kernel`, shape: [inDim, outDim], init: zero ? zerosInit() : fanInInit(inDim) },
    { name: `${prefix}.bias`, shape: [outDim], init: zerosInit() },
  ];
}

export function linear(p: ParamLookup, prefix: string, x: tf.Tensor): tf.Tensor {
  const kernel = p(`${prefix}.kernel`) as tf.Tensor2D;
  const inDim = kernel.shape[0];
  const outDim = kernel.shape[1];
  // A plain 2-D matMul is the fast path on every backend (wasm's batched matMul is not).
  const flat = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const y = tf.add(tf.matMul(flat, kernel), p(`${prefix}.bias`));
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}
