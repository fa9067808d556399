import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { transposeF32 } from './transpose-f32.js';

/**
 * Transpose for wasm. tfjs-backend-wasm 4.22 moves one element at a time (1.5-7 ns per element
 * when the innermost axis moves, and a much slower generic loop above rank 4). float32 and
 * int32 tensors go through `transposeF32` (block moves and 4x4 SIMD tiles); bool keeps the
 * C++ loop.
 */
function transpose(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { perm } = (args.attrs ?? {}) as unknown as tf.TransposeAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `transpose on wasm supports float32, int32 and bool tensors, got ${x.dtype}; transpose on the cpu backend instead.`,
      { details: { dtype: x.dtype } },
    );
  }
  return withKernelScope(args.backend, [x], (scope) => {
    if (x.dtype !== 'bool') return transposeF32(scope, x, perm);
    const out = scope.alloc(
      perm.map((p) => x.shape[p]!),
      { dtype: 'bool' },
    );
    if (tf.util.sizeFromShape(x.shape) > 0)
      scope.raw.transpose(scope.id(x), x.shape, perm, scope.id(out), 'bool');
    return out;
  });
}

export const transposeConfig: tf.KernelConfig = {
  kernelName: tf.Transpose,
  backendName: 'wasm',
  kernelFunc: transpose as unknown as tf.KernelFunc,
};
