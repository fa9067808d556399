import { tf } from '../tf.js';
import type { KernelScope } from './kernel-scope.js';

/** Inner blocks at least this long are moved with `copyWithin` (memmove) from JS. */
const MIN_BLOCK = 8;

/**
 * Drops size-1 axes and merges axes that stay adjacent under `perm`, so `[2, 3, 4, 5]` by
 * `[0, 2, 3, 1]` becomes `[2, 3, 20]` by `[0, 2, 1]`. tfjs-wasm's C++ transpose walks elements one
 * by one and falls back to a very slow generic loop above rank 4, so every rank saved matters.
 */
export function simplifyPermutation(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const keep = shape.map((d) => d !== 1);
  const renumber: number[] = [];
  let next = 0;
  for (let i = 0; i < shape.length; i++) renumber.push(keep[i] ? next++ : -1);
  const squeezedShape = shape.filter((d) => d !== 1);
  const squeezedPerm = perm.filter((p) => keep[p]).map((p) => renumber[p]!);
  // Merge runs of consecutive source axes in output order.
  const groups: number[][] = [];
  for (const p of squeezedPerm) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1]! + 1 === p) last.push(p);
    else groups.push([p]);
  }
  const bySource = [...groups].sort((a, b) => a[0]! - b[0]!);
  const mergedShape = bySource.map((g) => g.reduce((acc, axis) => acc * squeezedShape[axis]!, 1));
  const mergedPerm = groups.map((g) => bySource.indexOf(g));
  return { shape: mergedShape, perm: mergedPerm };
}

/**
 * float32 transpose on wasm: `out[i_perm[0], ..] = x[i_0, ..]` with tfjs' `perm` convention
 * (output axis j is input axis perm[j]). Writes into `into` when given (e.g. a view inside a
 * larger buffer), else into a fresh buffer owned by the scope.
 */
export function transposeF32(
  scope: KernelScope,
  x: tf.TensorInfo,
  perm: readonly number[],
  into?: tf.TensorInfo,
): tf.TensorInfo {
  const outShape = perm.map((p) => x.shape[p]!);
  const out = into ?? scope.alloc(outShape);
  const size = tf.util.sizeFromShape(x.shape);
  if (size === 0) return out;
  const simple = simplifyPermutation(x.shape, perm);
  const rank = simple.shape.length;
  const heap = scope.backend.wasm.HEAPF32;
  const src = scope.heapIndex(x);
  const dst = scope.heapIndex(out);
  if (rank <= 1) {
    heap.copyWithin(dst, src, src + size);
    return out;
  }
  const block = simple.shape[rank - 1]!;
  if (simple.perm[rank - 1] === rank - 1 && block >= MIN_BLOCK) {
    copyBlocks(heap, src, dst, simple.shape, simple.perm);
    return out;
  }
  if (rank <= 4) {
    scope.raw.transpose(scope.id(x), simple.shape, simple.perm, scope.id(out));
    return out;
  }
  copyElements(heap, src, dst, simple.shape, simple.perm);
  return out;
}

/** Transpose whose innermost axis stays innermost: one memmove per block, in output order. */
function copyBlocks(heap: Float32Array, src: number, dst: number, shape: number[], perm: number[]): void {
  const rank = shape.length;
  const block = shape[rank - 1]!;
  const inStrides = tf.util.computeStrides(shape);
  // Source stride of each output axis (the innermost is the block itself).
  const outer = perm.slice(0, rank - 1);
  const dims = outer.map((p) => shape[p]!);
  const strides = outer.map((p) => inStrides[p]!);
  const counter = new Array<number>(dims.length).fill(0);
  const total = tf.util.sizeFromShape(dims);
  let offset = 0;
  let out = dst;
  for (let n = 0; n < total; n++) {
    heap.copyWithin(out, src + offset, src + offset + block);
    out += block;
    for (let axis = dims.length - 1; axis >= 0; axis--) {
      offset += strides[axis]!;
      if (++counter[axis]! < dims[axis]!) break;
      offset -= strides[axis]! * dims[axis]!;
      counter[axis] = 0;
    }
  }
}

/** Generic element-by-element transpose for ranks the C++ side handles slowly. */
function copyElements(heap: Float32Array, src: number, dst: number, shape: number[], perm: number[]): void {
  const inStrides = tf.util.computeStrides(shape);
  const dims = perm.map((p) => shape[p]!);
  const strides = perm.map((p) => (p === shape.length - 1 ? 1 : inStrides[p]!));
  const counter = new Array<number>(dims.length).fill(0);
  const total = tf.util.sizeFromShape(dims);
  let offset = 0;
  for (let n = 0; n < total; n++) {
    heap[dst + n] = heap[src + offset]!;
    for (let axis = dims.length - 1; axis >= 0; axis--) {
      offset += strides[axis]!;
      if (++counter[axis]! < dims[axis]!) break;
      offset -= strides[axis]! * dims[axis]!;
      counter[axis] = 0;
    }
  }
}
