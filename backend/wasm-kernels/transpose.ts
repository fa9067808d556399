import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { stockKernel } from './stock-kernels.js';
import { transposeF32 } from './transpose-f32.js';

/**
 * Transpose for wasm. tfjs-backend-wasm 4.22 moves one element at a time (1.5-7 ns per element
 * when the innermost axis moves, and a much slower generic loop above rank 4). float32 and
 * int32 tensors go through `transposeF32` (block moves and 4x4 SIMD tiles); bool and small
 * tensors keep the stock kernel.
 */
/** Below this many elements the stock kernel is used as is. */
const SMALL = 4096;

function transpose(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { perm } = (args.attrs ?? {}) as unknown as tf.TransposeAttrs;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || tf.util.sizeFromShape(x.shape) < SMALL) {
    // Other dtypes, and small tensors where the stock loop beats any setup.
    return stockKernel('Transpose')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  return withKernelScope(args.backend, [x], (scope) => transposeF32(scope, x, perm));
}

export const transposeConfig: tf.KernelConfig = {
  kernelName: tf.Transpose,
  backendName: 'wasm',
  kernelFunc: transpose as unknown as tf.KernelFunc,
};
