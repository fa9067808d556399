import { tf } from '../tf.js';
import { asWasmBackend, tensorData } from './wasm-backend.js';

/**
 * Slice for wasm. tfjs-backend-wasm 4.22's Slice first copies the whole input out of the heap
 * (`readSync`) and then copies the slice back in, so taking a few rows of a big tensor costs a
 * full copy of it (every concat/split gradient does this). This version copies only the slice,
 * heap to heap, one contiguous run at a time (trailing axes taken whole merge into one run).
 */
function slice(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { begin, size } = (args.attrs ?? {}) as unknown as tf.SliceAttrs;
  const backend = asWasmBackend(args.backend);
  const [start = [], extent = []] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
  const out = backend.makeOutput(extent, x.dtype);
  const count = tf.util.sizeFromShape(extent);
  if (count === 0) return out;
  const source = tensorData(backend, x);
  const target = tensorData(backend, out);
  if (x.dtype === 'string') {
    // Strings live in JS arrays, not in the heap.
    const strings = (source as unknown as { stringBytes: Uint8Array[] }).stringBytes;
    const picked: Uint8Array[] = [];
    forEachRun(x.shape, start, extent, (from, length) => {
      for (let i = 0; i < length; i++) picked.push(strings[from + i]!);
    });
    (target as unknown as { stringBytes: Uint8Array[] }).stringBytes = picked;
    return out;
  }
  const bytes = tf.util.bytesPerElement(x.dtype);
  const heap = backend.wasm.HEAPU8;
  let to = target.memoryOffset;
  forEachRun(x.shape, start, extent, (from, length) => {
    const at = source.memoryOffset + from * bytes;
    heap.copyWithin(to, at, at + length * bytes);
    to += length * bytes;
  });
  return out;
}

/** Calls `visit(flatStart, length)` for each contiguous run of the slice, in order. */
function forEachRun(
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  visit: (from: number, length: number) => void,
): void {
  const rank = shape.length;
  if (rank === 0) {
    visit(0, 1);
    return;
  }
  // Merge trailing axes that are taken whole into one run.
  let inner = rank - 1;
  let run = size[inner]!;
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner]!;
  }
  const strides = new Array<number>(rank).fill(1);
  for (let axis = rank - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1]! * shape[axis + 1]!;
  let base = 0;
  for (let axis = 0; axis < rank; axis++) base += begin[axis]! * strides[axis]!;
  const outer = size.slice(0, inner);
  const total = tf.util.sizeFromShape(outer);
  const counter = new Array<number>(inner).fill(0);
  let offset = base;
  for (let i = 0; i < total; i++) {
    visit(offset, run);
    for (let axis = inner - 1; axis >= 0; axis--) {
      offset += strides[axis]!;
      if (++counter[axis]! < outer[axis]!) break;
      offset -= strides[axis]! * outer[axis]!;
      counter[axis] = 0;
    }
  }
}

export const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: 'wasm',
  kernelFunc: slice as unknown as tf.KernelFunc,
};
