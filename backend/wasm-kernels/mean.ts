import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { reduceSum } from './reduce-sum.js';
import { stockKernel } from './stock-kernels.js';

/**
 * Mean for wasm: float32 means over non-innermost axes as a transpose-free sum (see
 * reduce-sum.ts) scaled by 1/count; other dtypes and innermost-only means go to the stock kernel.
 */
function mean(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { axis, keepDims } = (args.attrs ?? {}) as unknown as tf.MeanAttrs;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const innermost = tf.backend_util.getAxesPermutation(axes, x.shape.length) === null;
  if (x.dtype !== 'float32' || innermost) {
    return stockKernel('Mean')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  return withKernelScope(args.backend, [x], (scope) => {
    const summed = reduceSum(scope, x, axes);
    const count = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
    // count 1 means only size-1 axes were reduced: the sum is x itself (shared), left alone.
    if (count !== 1) {
      const values = scope.f32(summed);
      for (let i = 0; i < values.length; i++) values[i]! /= count;
    }
    return keepDims
      ? scope.reshape(summed, tf.backend_util.expandShapeToKeepDim(summed.shape, axes))
      : summed;
  });
}

export const meanConfig: tf.KernelConfig = {
  kernelName: tf.Mean,
  backendName: 'wasm',
  kernelFunc: mean as unknown as tf.KernelFunc,
};
