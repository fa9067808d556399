import { tf } from '../tf.js';
import type { KernelScope } from './kernel-scope.js';
import { type SimdKernels, simdKernels } from './simd-kernels.js';

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
 * Transpose of a 4-byte tensor (float32 or int32; bits are moved, never converted) on wasm:
 * `out[i_perm[0], ..] = x[i_0, ..]` with tfjs' `perm` convention (output axis j is input axis
 * perm[j]). Writes into `into` when given (e.g. a view inside a larger buffer), else into a
 * fresh buffer owned by the scope.
 *
 * After `simplifyPermutation`, a permutation either keeps the innermost axis (moved as
 * contiguous blocks) or is at most one such block move followed by a batched 2-D transpose
 * `[batch, rows, cols] -> [batch, cols, rows]`, done in 4x4 SIMD tiles (simd-kernels.ts).
 */
export function transposeF32(
  scope: KernelScope,
  x: tf.TensorInfo,
  perm: readonly number[],
  into?: tf.TensorInfo,
): tf.TensorInfo {
  const outShape = perm.map((p) => x.shape[p]!);
  const out = into ?? scope.alloc(outShape, { dtype: x.dtype === 'int32' ? 'int32' : 'float32' });
  const size = tf.util.sizeFromShape(x.shape);
  if (size === 0) return out;
  const simple = simplifyPermutation(x.shape, perm);
  const rank = simple.shape.length;
  if (rank <= 1) {
    const heap = scope.backend.wasm.HEAP32;
    const src = scope.heapIndex(x);
    heap.copyWithin(scope.heapIndex(out), src, src + size);
    return out;
  }
  if (simple.perm[rank - 1] === rank - 1) {
    moveBlocks(scope, x, out, simple.shape, simple.perm);
    return out;
  }
  const simd = simdKernels(scope.backend);
  if (simd === undefined) {
    if (rank <= 4) scope.raw.transpose(scope.id(x), simple.shape, simple.perm, scope.id(out), cppType(x));
    else
      copyElements(
        scope.backend.wasm.HEAP32,
        scope.heapIndex(x),
        scope.heapIndex(out),
        simple.shape,
        simple.perm,
      );
    return out;
  }
  // The input's last axis lands at output position j. First bring the axes that follow it in
  // the output to just before it (a block move), then swap them with it: a batched 2-D transpose.
  const last = rank - 1;
  const j = simple.perm.indexOf(last);
  const before = simple.perm.slice(0, j);
  const after = simple.perm.slice(j + 1);
  const firstPerm = [...before, ...after, last];
  const batch = before.reduce((acc, axis) => acc * simple.shape[axis]!, 1);
  const rows = after.reduce((acc, axis) => acc * simple.shape[axis]!, 1);
  const cols = simple.shape[last]!;
  let staged = x;
  if (firstPerm.some((axis, i) => axis !== i)) {
    staged = scope.alloc([size]);
    moveBlocks(scope, x, staged, simple.shape, firstPerm);
  }
  transposeBatched(scope, simd, staged, out, batch, rows, cols);
  if (staged !== x) scope.release(staged);
  return out;
}

/** Blocks at least this long are moved from JS with `copyWithin`; shorter ones by the C++ loop. */
const MIN_JS_BLOCK = 32;

/** A transpose that keeps the innermost axis: contiguous blocks, in output order. */
function moveBlocks(
  scope: KernelScope,
  x: tf.TensorInfo,
  out: tf.TensorInfo,
  shape: number[],
  perm: number[],
): void {
  const rank = shape.length;
  if (shape[rank - 1]! >= MIN_JS_BLOCK || rank > 4) {
    copyBlocks(scope.backend.wasm.HEAP32, scope.heapIndex(x), scope.heapIndex(out), shape, perm);
  } else {
    // The C++ transpose only reads the id and memory of its operands; shapes are passed along.
    scope.raw.transpose(scope.id(x), shape, perm, scope.id(out), cppType(x));
  }
}

function cppType(x: tf.TensorInfo): 'float32' | 'int32' {
  return x.dtype === 'int32' ? 'int32' : 'float32';
}

/** `out[b][c][r] = x[b][r][c]` for a batch of matrices. */
function transposeBatched(
  scope: KernelScope,
  simd: SimdKernels,
  x: tf.TensorInfo,
  out: tf.TensorInfo,
  batch: number,
  rows: number,
  cols: number,
): void {
  const matrix = rows * cols;
  const srcBase = scope.heapIndex(x);
  const dstBase = scope.heapIndex(out);
  for (let b = 0; b < batch; b++) {
    transposeMatrix(scope, simd, srcBase + b * matrix, dstBase + b * matrix, rows, cols);
  }
}

/**
 * One row-major `[rows, cols]` matrix at heap element `src` transposed to `[cols, rows]` at
 * `dst` (4-byte elements, bits moved as is): SIMD 4x4 tiles, then the ragged edges from JS.
 */
export function transposeMatrix(
  scope: KernelScope,
  simd: SimdKernels,
  src: number,
  dst: number,
  rows: number,
  cols: number,
): void {
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  if (rows4 > 0 && cols4 > 0) simd.transposeTiles(src * 4, dst * 4, rows, cols, rows4, cols4);
  if (rows4 === rows && cols4 === cols) return;
  const heap = scope.backend.wasm.HEAP32;
  for (let r = 0; r < rows; r++) {
    const from = r < rows4 ? cols4 : 0;
    for (let c = from; c < cols; c++) heap[dst + c * rows + r] = heap[src + r * cols + c]!;
  }
}

/** Transpose whose innermost axis stays innermost: one memmove per block, in output order. */
function copyBlocks(heap: Int32Array, src: number, dst: number, shape: number[], perm: number[]): void {
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
function copyElements(heap: Int32Array, src: number, dst: number, shape: number[], perm: number[]): void {
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
