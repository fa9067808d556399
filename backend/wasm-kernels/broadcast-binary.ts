import { tf } from '../tf.js';
import { type KernelScope, withKernelScope } from './kernel-scope.js';
import { simdKernels } from './simd-kernels.js';
import { stockKernel } from './stock-kernels.js';

/**
 * Float32 binary kernels (Add, Sub, Multiply, RealDiv, SquaredDifference) for wasm whose
 * operands broadcast along the innermost axis. tfjs-backend-wasm 4.22 is fast when the
 * innermost axis of both operands matches (~0.3 ns per element) but takes a generic per-element
 * path when one of them is broadcast along it (~3.3 ns): GroupNorm's `[n, 1, g, 1]` statistics
 * against `[n, hw, g, c/g]`, softmax's `[..., 1]` row sums in its gradient. Such an operand is
 * first expanded along its trailing broadcast axes (SIMD splat stores), then the stock kernel
 * runs on the fast path.
 */
function makeBinary(kernelName: string): tf.KernelConfig {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo => {
    const a = args.inputs.a!;
    const b = args.inputs.b!;
    if (!broadcastsInnermost(a, b)) {
      // The stock kernel is already on its fast path: call it without any bookkeeping.
      return stockKernel(kernelName)(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    return withKernelScope(args.backend, [a, b], (scope) => {
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const fixedA = expandTrailing(scope, a, outShape);
      const fixedB = expandTrailing(scope, b, outShape);
      return scope.run(kernelName, { a: fixedA, b: fixedB }, {}, { stock: true });
    });
  };
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

/** Whether one float32 operand (not a scalar) is broadcast along the other's innermost axis. */
function broadcastsInnermost(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return false;
  const aLast = a.shape.length === 0 ? 1 : a.shape[a.shape.length - 1]!;
  const bLast = b.shape.length === 0 ? 1 : b.shape[b.shape.length - 1]!;
  if (aLast === bLast) return false;
  return tf.util.sizeFromShape(a.shape) > 1 && tf.util.sizeFromShape(b.shape) > 1;
}

/**
 * `x` with its trailing axes that broadcast (size 1 where the output is larger) expanded to the
 * output's sizes; `x` itself when its innermost axis already matches or it is a scalar.
 */
function expandTrailing(scope: KernelScope, x: tf.TensorInfo, outShape: number[]): tf.TensorInfo {
  const rank = outShape.length;
  const shape = [...new Array<number>(rank - x.shape.length).fill(1), ...x.shape];
  const size = tf.util.sizeFromShape(x.shape);
  if (size <= 1 || shape[rank - 1] === outShape[rank - 1]) return x;
  let first = rank;
  while (first > 0 && shape[first - 1] === 1) first--;
  const reps = outShape.slice(first).reduce((acc, d) => acc * d, 1);
  const expanded = scope.alloc([...shape.slice(0, first), ...outShape.slice(first)]);
  const simd = simdKernels(scope.backend);
  const reps4 = simd === undefined ? 0 : reps & ~3;
  const src = scope.heapIndex(x);
  const dst = scope.heapIndex(expanded);
  if (simd !== undefined && reps4 > 0) simd.repeatInner(src * 4, dst * 4, size, reps, reps4);
  if (reps4 < reps) {
    const heap = scope.backend.wasm.HEAPF32;
    for (let i = 0; i < size; i++) {
      const value = heap[src + i]!;
      heap.fill(value, dst + i * reps + reps4, dst + (i + 1) * reps);
    }
  }
  return expanded;
}

export const addConfig = makeBinary(tf.Add);
export const subConfig = makeBinary(tf.Sub);
export const multiplyConfig = makeBinary(tf.Multiply);
export const realDivConfig = makeBinary(tf.RealDiv);
export const squaredDifferenceConfig = makeBinary(tf.SquaredDifference);
