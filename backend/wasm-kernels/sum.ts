import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { reduceSum } from './reduce-sum.js';
import { stockKernel } from './stock-kernels.js';

/**
 * Sum for wasm: float32 sums over non-innermost axes without transposing (see reduce-sum.ts);
 * other dtypes and innermost-only sums go to the stock kernel.
 */
function sum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { axis, keepDims } = (args.attrs ?? {}) as unknown as tf.SumAttrs;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const innermost = tf.backend_util.getAxesPermutation(axes, x.shape.length) === null;
  if (x.dtype !== 'float32' || innermost) {
    return stockKernel('Sum')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  return withKernelScope(args.backend, [x], (scope) => {
    const out = reduceSum(scope, x, axes);
    return keepDims ? scope.reshape(out, tf.backend_util.expandShapeToKeepDim(out.shape, axes)) : out;
  });
}

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  kernelFunc: sum as unknown as tf.KernelFunc,
};
