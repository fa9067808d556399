import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { asWasmBackend, tensorData } from './wasm-backend.js';

/**
 * Tile for wasm. tfjs-backend-wasm 4.22's Tile computes every output element's source index
 * separately (~60-100 ns per element); nearest-neighbour upsampling by tiling spent more time
 * there than in the convs around it. This version copies each innermost row of `x` once and
 * then doubles already-written blocks with `copyWithin` (memmove), axis by axis.
 */
function tile(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { reps } = (args.attrs ?? {}) as unknown as tf.TileAttrs;
  const backend = asWasmBackend(args.backend);
  if (x.dtype === 'string' || x.dtype === 'complex64') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `tile on wasm supports numeric tensors, got ${x.dtype}; tile on the cpu backend instead.`,
      { details: { dtype: x.dtype } },
    );
  }
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  if (rank === 0) {
    const bytes = tf.util.bytesPerElement(x.dtype);
    const heap = backend.wasm.HEAPU8;
    const from = tensorData(backend, x).memoryOffset;
    heap.copyWithin(tensorData(backend, out).memoryOffset, from, from + bytes);
    return out;
  }
  const bytes = tf.util.bytesPerElement(x.dtype);
  // Strides in bytes of x and of the output.
  const xStrides = new Array<number>(rank).fill(bytes);
  const outStrides = new Array<number>(rank).fill(bytes);
  for (let axis = rank - 2; axis >= 0; axis--) {
    xStrides[axis] = xStrides[axis + 1]! * x.shape[axis + 1]!;
    outStrides[axis] = outStrides[axis + 1]! * outShape[axis + 1]!;
  }
  const heap = backend.wasm.HEAPU8;
  const fill = (axis: number, from: number, to: number): void => {
    const count = x.shape[axis]!;
    if (axis === rank - 1) {
      heap.copyWithin(to, from, from + count * bytes);
    } else {
      for (let i = 0; i < count; i++) fill(axis + 1, from + i * xStrides[axis]!, to + i * outStrides[axis]!);
    }
    // The first copy along this axis is complete; replicate it reps-1 times by doubling.
    const block = count * outStrides[axis]!;
    const total = block * reps[axis]!;
    let written = block;
    while (written < total) {
      const chunk = Math.min(written, total - written);
      heap.copyWithin(to + written, to, to + chunk);
      written += chunk;
    }
  };
  fill(0, tensorData(backend, x).memoryOffset, tensorData(backend, out).memoryOffset);
  return out;
}

export const tileConfig: tf.KernelConfig = {
  kernelName: tf.Tile,
  backendName: 'wasm',
  kernelFunc: tile as unknown as tf.KernelFunc,
};
