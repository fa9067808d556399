import { tf } from '../tf.js';
import type { KernelScope } from './kernel-scope.js';
import { simdKernels } from './simd-kernels.js';

/**
 * float32 sum of `x` over `axes`, shaped without the reduced axes. tfjs-backend-wasm 4.22 sums
 * only innermost axes and first transposes anything else there with its element-by-element
 * loop; bias and normalisation gradients reduce the leading axes (`[n, h, w, c] -> [c]`),
 * GroupNorm's moments reduce `[1, 3]` of `[n, hw, groups, c/groups]`.
 *
 * Adjacent axes are merged into alternating kept/reduced runs, which are removed largest
 * first (the data shrinks fastest): an innermost run by the stock C++ sum, any other by SIMD
 * column sums (`addRows`) of each `[reduced, everything after it]` block. No transposes.
 */
export function reduceSum(scope: KernelScope, x: tf.TensorInfo, axes: readonly number[]): tf.TensorInfo {
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  const runs: { size: number; reduced: boolean }[] = [];
  x.shape.forEach((size, i) => {
    if (size === 1) return;
    const reduced = axes.includes(i);
    const last = runs[runs.length - 1];
    if (last !== undefined && last.reduced === reduced) last.size *= size;
    else runs.push({ size, reduced });
  });
  const simd = simdKernels(scope.backend);
  const size = tf.util.sizeFromShape(x.shape);
  if (simd === undefined || size === 0) {
    return scope.run('Sum', { x }, { axis: [...axes], keepDims: false }, { stock: true });
  }
  let current = x;
  while (runs.some((run) => run.reduced)) {
    const product = (from: number, to: number) =>
      runs.slice(from, to).reduce((acc, run) => acc * run.size, 1);
    // The largest reduced run goes first: it shrinks the data the most.
    let k = -1;
    runs.forEach((run, i) => {
      if (run.reduced && (k < 0 || run.size > runs[k]!.size)) k = i;
    });
    const last = runs.length - 1;
    if (k === last) {
      const flat = scope.reshape(current, [product(0, last), runs[last]!.size]);
      current = scope.run('Sum', { x: flat }, { axis: [1], keepDims: false }, { stock: true });
      runs.pop();
      continue;
    }
    const outer = product(0, k);
    const reduce = runs[k]!.size;
    const inner = product(k + 1, runs.length);
    const out = scope.alloc([outer * inner], { zero: true });
    const inner4 = inner & ~3;
    const src = scope.heapIndex(current);
    const dst = scope.heapIndex(out);
    for (let o = 0; o < outer; o++) {
      const from = src + o * reduce * inner;
      const to = dst + o * inner;
      if (inner4 > 0) simd.addRows(from * 4, to * 4, reduce, inner, inner4);
      if (inner4 < inner) {
        const heap = scope.backend.wasm.HEAPF32;
        for (let r = 0; r < reduce; r++) {
          for (let c = inner4; c < inner; c++) heap[to + c]! += heap[from + r * inner + c]!;
        }
      }
    }
    if (current !== x) scope.release(current);
    current = out;
    // Drop run k and merge the runs that become neighbours if they are alike.
    runs.splice(k, 1);
    if (k > 0 && k < runs.length && runs[k - 1]!.reduced === runs[k]!.reduced) {
      runs[k - 1]!.size *= runs[k]!.size;
      runs.splice(k, 1);
    }
  }
  return scope.reshape(current, outShape);
}
