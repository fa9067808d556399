import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';

/**
 * UnsortedSegmentSum for wasm (missing in tfjs-backend-wasm 4.22; it is the gradient of
 * `tf.gather`, e.g. of an embedding lookup). `out[s] = sum of x[i] over i with ids[i] = s`;
 * ids outside `[0, numSegments)` are dropped, as on the cpu backend. With ids of shape
 * `[d0..dk]`, x is `[d0..dk, ...rest]` and the result `[numSegments, ...rest]`.
 * One pass over x, adding rows of `rest` straight in the heap.
 */
function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const segmentIds = args.inputs.segmentIds!;
  const { numSegments } = (args.attrs ?? {}) as unknown as tf.UnsortedSegmentSumAttrs;
  const idRank = segmentIds.shape.length;
  if (x.shape.slice(0, idRank).join(',') !== segmentIds.shape.join(',')) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `unsortedSegmentSum: segmentIds shape [${segmentIds.shape.join(', ')}] must be a prefix of x shape [${x.shape.join(', ')}]; pass one id per leading row of x.`,
      { details: { xShape: x.shape, segmentIdsShape: segmentIds.shape } },
    );
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `unsortedSegmentSum on wasm supports float32 and int32 x, got ${x.dtype}; cast x first.`,
      { details: { dtype: x.dtype } },
    );
  }
  const rest = x.shape.slice(idRank);
  const inner = tf.util.sizeFromShape(rest);
  return withKernelScope(args.backend, [x, segmentIds], (scope) => {
    const out = scope.alloc([numSegments, ...rest], { dtype: x.dtype as 'float32' | 'int32', zero: true });
    const heap: Float32Array | Int32Array =
      x.dtype === 'float32' ? scope.backend.wasm.HEAPF32 : scope.backend.wasm.HEAP32;
    const outOffset = scope.heapIndex(out);
    const ids = scope.i32(segmentIds);
    const xOffset = scope.heapIndex(x);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= numSegments) continue;
      const from = xOffset + i * inner;
      const to = outOffset + id * inner;
      for (let j = 0; j < inner; j++) heap[to + j]! += heap[from + j]!;
    }
    return out;
  });
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
