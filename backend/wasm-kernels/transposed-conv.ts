import type { tf } from '../tf.js';
import { gemmConv2d } from './gemm-conv.js';
import type { KernelScope } from './kernel-scope.js';
import { simdKernels } from './simd-kernels.js';
import type { TransposedAxisPlan } from './transposed-conv-plan.js';

/**
 * Input gradient of an NHWC conv (dense or depthwise) as one stride-1 conv per output phase
 * (the SIMD GEMM conv of gemm-conv.ts when dense with c a multiple of 4, else XNNPACK's) (see transposed-conv-plan.ts), each written straight into its slot of a phase stack
 * `[sh*sw*n, mh, mw, c]`, then interleaved into `dx` with one block copy per pixel. Stride 1
 * has a single phase whose output already is `dx`.
 *
 * - dense: `dy [n, ho, wo, co]`, filter `[fh, fw, c, co]`; each phase filter is
 *   `[A, B, co, c]` (taps reversed, in/out channels swapped).
 * - depthwise: `dy [n, ho, wo, c*mult]`, filter `[fh, fw, c, mult]`; each phase filter is the
 *   depthwise `[A, B, c*mult, 1]`, and the `mult` outputs of a channel are summed afterwards.
 */
export function transposedConv(
  scope: KernelScope,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  args: {
    inShape: readonly [number, number, number, number];
    rows: TransposedAxisPlan;
    cols: TransposedAxisPlan;
    depthwise: boolean;
  },
): tf.TensorInfo {
  const { rows, cols, depthwise } = args;
  const [n, h, w, c] = args.inShape;
  const [, , fc, fo] = filter.shape as [number, number, number, number];
  const [, ho, wo, cy] = dy.shape as [number, number, number, number];
  // Channels of each phase conv's output: c (dense) or c*mult (depthwise, summed later).
  const cz = depthwise ? fc * fo : c;
  const phaseCount = rows.stride * cols.stride;
  const stack = scope.alloc([phaseCount * n, rows.count, cols.count, cz]);
  const phaseSize = n * rows.count * cols.count * cz;
  if (n * h * w * c === 0) return stack;
  const simd = depthwise || cz % 4 !== 0 ? undefined : simdKernels(scope.backend);

  for (let pr = 0; pr < rows.stride; pr++) {
    for (let pc = 0; pc < cols.stride; pc++) {
      const rp = rows.phases[pr]!;
      const cp = cols.phases[pc]!;
      const slot = pr * cols.stride + pc;
      const a = rp.taps.length;
      const b = cp.taps.length;
      const keptRows = ho - rp.cropBefore - rp.cropAfter;
      const keptCols = wo - cp.cropBefore - cp.cropAfter;
      if (a === 0 || b === 0 || keptRows <= 0 || keptCols <= 0 || cy === 0) {
        scope.f32(stack).fill(0, slot * phaseSize, (slot + 1) * phaseSize);
        continue;
      }
      let input = dy;
      if (rp.cropBefore + rp.cropAfter + cp.cropBefore + cp.cropAfter > 0) {
        input = scope.run(
          'Slice',
          { x: dy },
          { begin: [0, rp.cropBefore, cp.cropBefore, 0], size: [n, keptRows, keptCols, cy] },
        );
      }
      const phaseFilter = depthwise ? scope.alloc([a, b, cz, 1]) : scope.alloc([a, b, cy, c]);
      fillPhaseFilter(scope, filter, phaseFilter, rp.taps, cp.taps, depthwise);
      const out = scope.view(stack, slot * phaseSize, [n, rows.count, cols.count, cz]);
      if (simd !== undefined) {
        gemmConv2d(scope, simd, {
          x: input,
          filter: phaseFilter,
          out,
          batch: n,
          inHeight: keptRows,
          inWidth: keptCols,
          inChannels: cy,
          outChannels: cz,
          filterHeight: a,
          filterWidth: b,
          strides: [1, 1],
          pads: { top: rp.padBefore, bottom: rp.padAfter, left: cp.padBefore, right: cp.padAfter },
          outHeight: rows.count,
          outWidth: cols.count,
        });
        continue;
      }
      const call = {
        xId: scope.id(input),
        batch: n,
        inHeight: keptRows,
        inWidth: keptCols,
        filterId: scope.id(phaseFilter),
        filterHeight: a,
        filterWidth: b,
        pads: [rp.padBefore, cp.padAfter, rp.padAfter, cp.padBefore] as const,
        dilations: [1, 1] as const,
        strides: [1, 1] as const,
        inChannels: cy,
        outChannels: cz,
        outId: scope.id(out),
      };
      if (depthwise) scope.raw.depthwiseConv2d(call);
      else scope.raw.conv2d(call);
    }
  }

  let phases = stack;
  if (depthwise && fo > 1) {
    const grouped = scope.reshape(stack, [phaseCount * n * rows.count * cols.count * c, fo]);
    phases = scope.reshape(scope.run('Sum', { x: grouped }, { axis: [1], keepDims: false }), [
      phaseCount * n,
      rows.count,
      cols.count,
      c,
    ]);
  }
  if (phaseCount === 1 && rows.offset === 0 && cols.offset === 0 && rows.count === h && cols.count === w) {
    return phases;
  }
  const dx = scope.alloc([n, h, w, c]);
  interleave(scope, phases, dx, rows, cols);
  return dx;
}

/** Gathers the phase filter's slots from the full filter (zeros for empty slots). */
function fillPhaseFilter(
  scope: KernelScope,
  filter: tf.TensorInfo,
  target: tf.TensorInfo,
  rowTaps: readonly number[],
  colTaps: readonly number[],
  depthwise: boolean,
): void {
  const [, fw, fc, fo] = filter.shape as [number, number, number, number];
  const src = scope.f32(filter);
  const dst = scope.f32(target);
  const tapSize = fc * fo;
  let o = 0;
  for (const kh of rowTaps) {
    for (const kw of colTaps) {
      if (kh < 0 || kw < 0) {
        dst.fill(0, o, o + tapSize);
        o += tapSize;
        continue;
      }
      const base = (kh * fw + kw) * tapSize;
      if (depthwise) {
        // [c, mult] -> [c*mult, 1]: the same order.
        dst.set(src.subarray(base, base + tapSize), o);
        o += tapSize;
      } else {
        // [c, co] -> [co, c].
        for (let oc = 0; oc < fo; oc++) {
          for (let ic = 0; ic < fc; ic++) dst[o + oc * fc + ic] = src[base + ic * fo + oc]!;
        }
        o += tapSize;
      }
    }
  }
}

/**
 * `dx[n, i, j] = phases[phase(i, j), n, m(i), m(j)]`, one block of `c` floats per pixel; with
 * the SIMD routines and `c` a multiple of 4, one strided copy per row and column phase.
 */
function interleave(
  scope: KernelScope,
  phases: tf.TensorInfo,
  dx: tf.TensorInfo,
  rows: TransposedAxisPlan,
  cols: TransposedAxisPlan,
): void {
  const [n, h, w, c] = dx.shape as [number, number, number, number];
  const simd = c % 4 === 0 ? simdKernels(scope.backend) : undefined;
  const heap = scope.backend.wasm.HEAPF32;
  const src = scope.heapIndex(phases);
  let dst = scope.heapIndex(dx);
  const rowStride = cols.count * c;
  const imageStride = rows.count * rowStride;
  const phaseStride = n * imageStride;
  const colSource = new Int32Array(w);
  for (let j = 0; j < w; j++) {
    const v = j + cols.offset;
    colSource[j] = (v % cols.stride) * phaseStride + Math.floor(v / cols.stride) * c;
  }
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const u = i + rows.offset;
      const rowBase =
        src +
        (u % rows.stride) * cols.stride * phaseStride +
        b * imageStride +
        Math.floor(u / rows.stride) * rowStride;
      if (simd !== undefined) {
        // Pixels j, j + stride, ... of this row come from one phase, c floats apart there.
        for (let j = 0; j < Math.min(cols.stride, w); j++) {
          const count = Math.ceil((w - j) / cols.stride);
          simd.copyRows(
            4 * (rowBase + colSource[j]!),
            4 * (dst + j * c),
            count,
            4 * c,
            4 * cols.stride * c,
            4 * c,
          );
        }
        dst += w * c;
        continue;
      }
      for (let j = 0; j < w; j++) {
        const from = rowBase + colSource[j]!;
        heap.copyWithin(dst, from, from + c);
        dst += c;
      }
    }
  }
}
