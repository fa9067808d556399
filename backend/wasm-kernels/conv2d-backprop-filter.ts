import { tf } from '../tf.js';
import { requireChannelsLast } from './conv-attrs.js';
import { type GemmTarget, gemmBlocked } from './gemm-blocked.js';
import { withKernelScope } from './kernel-scope.js';
import { phaseAxis, phaseSplit, tapPhase } from './phase-grid.js';
import { simdKernels } from './simd-kernels.js';

/**
 * Conv2DBackpropFilter for wasm (missing in tfjs-backend-wasm 4.22).
 *
 * `dW[kh, kw, ci, co] = sum_{n, y, x} xpad[n, y*s + kh, x*s + kw, ci] * dy[n, y, x, co]`.
 * The input is split into stride phases on a grid (see phase-grid.ts) in channels-first
 * layout `[sh, sw, ci, n*qh*qw]`, and `dy` is zero-padded to the same grid `[n*qh*qw, co]`.
 * For each tap, the shifted input is then a contiguous `[ci, n*qh*qw]` view of the phase
 * buffer, so each tap is one plain matmul `[ci, L] x [L, co]` written straight into
 * `dW[kh, kw]`. With the SIMD GEMM (co a multiple of 4) the taps take turns inside each
 * cache block of `dy` along L (gemm-blocked.ts), so `dy` comes from memory once, not once per
 * tap; otherwise each tap is an XNNPACK matmul, with `dy` packed once and shared by all taps.
 * Grid rows/columns that are not real outputs hold zeros in `dy`, so whatever the shifted view
 * reads there adds nothing, and reads that overrun a row land in the next row's zero padding
 * (see phase-grid.ts).
 * Extra work over the exact MAC count: `qh*qw / (ho*wo)` (1.06x for 32x32 3x3 'same').
 */
function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    requireChannelsLast(attrs.dataFormat, 'Conv2DBackpropFilter'),
  );
  return withKernelScope(args.backend, [x, dy], (scope) => {
    const { batchSize: n, inChannels: ci, outChannels: co, filterHeight: fh, filterWidth: fw } = info;
    const out = scope.alloc([fh, fw, ci, co]);
    if (tf.util.sizeFromShape(x.shape) === 0 || tf.util.sizeFromShape(dy.shape) === 0) {
      scope.f32(out).fill(0);
      return out;
    }
    const rows = phaseAxis({
      inSize: info.inHeight,
      outSize: info.outHeight,
      filterSize: fh,
      stride: info.strideHeight,
      dilation: 1,
      padBefore: info.padInfo.top,
    });
    const cols = phaseAxis({
      inSize: info.inWidth,
      outSize: info.outWidth,
      filterSize: fw,
      stride: info.strideWidth,
      dilation: 1,
      padBefore: info.padInfo.left,
    });
    const positions = n * rows.grid * cols.grid;
    const maxShift = tapPhase(rows, fh - 1).shift * cols.grid + tapPhase(cols, fw - 1).shift;
    const { base: phases, phaseStride } = phaseSplit(scope, x, rows, cols, {
      channelsFirst: true,
      slack: maxShift,
    });
    const dyGrid = scope.run(
      'PadV2',
      { x: dy },
      {
        paddings: [
          [0, 0],
          [0, rows.grid - rows.out],
          [0, cols.grid - cols.out],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const taps: { offset: number; out: number }[] = [];
    for (let kh = 0; kh < fh; kh++) {
      const r = tapPhase(rows, kh);
      for (let kw = 0; kw < fw; kw++) {
        const c = tapPhase(cols, kw);
        const phase = r.phase * cols.stride + c.phase;
        taps.push({
          offset: phase * phaseStride + r.shift * cols.grid + c.shift,
          out: (kh * fw + kw) * ci * co,
        });
      }
    }
    const simd = simdKernels(scope.backend);
    if (simd !== undefined && co % 4 === 0) {
      const phasesAt = scope.heapIndex(phases);
      const outAt = scope.heapIndex(out);
      const targets: GemmTarget[] = taps.map((t) => ({
        a: 4 * (phasesAt + t.offset),
        c: 4 * (outAt + t.out),
      }));
      const shape = {
        rows: ci,
        n: co,
        k: positions,
        aRow: 4 * positions,
        aK: 4,
        bStride: 4 * co,
        cStride: 4 * co,
      };
      gemmBlocked(simd, shape, 4 * scope.heapIndex(dyGrid), targets);
      return out;
    }
    const dyId = scope.id(dyGrid);
    const bShape = [1, positions, co];
    for (const t of taps) {
      const a = scope.view(phases, t.offset, [1, ci, positions]);
      const o = scope.view(out, t.out, [1, ci, co]);
      scope.raw.batchMatMul(scope.id(a), a.shape, dyId, bShape, false, false, scope.id(o));
    }
    return out;
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
