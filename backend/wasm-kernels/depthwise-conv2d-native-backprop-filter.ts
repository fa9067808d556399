import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { phaseAxis, phaseSplit, tapPhase } from './phase-grid.js';
import { transposeF32 } from './transpose-f32.js';

/**
 * DepthwiseConv2dNativeBackpropFilter for wasm (missing in tfjs-backend-wasm 4.22).
 *
 * `dW[kh, kw, c, q] = sum_{n, y, x} xpad[n, y*s + kh*d, x*s + kw*d, c] * dy[n, y, x, c*mult + q]`.
 * As for the dense filter gradient (conv2d-backprop-filter.ts), the input is split into stride
 * phases on a grid in channels-first layout, so each tap's shifted input is a contiguous view
 * `[c, 1, L]`; `dy` goes to the same grid, channels first `[c, mult, L]`. Each tap is then one
 * SIMD multiply and one innermost-axis sum on wasm, with no per-tap copies of the input.
 */
function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const attrs = (args.attrs ?? {}) as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return withKernelScope(args.backend, [x, dy], (scope) => {
    const [fh, fw, c, mult] = attrs.filterShape;
    const n = info.batchSize;
    const out = scope.alloc([fh, fw, c, mult]);
    if (tf.util.sizeFromShape(x.shape) === 0 || tf.util.sizeFromShape(dy.shape) === 0) {
      scope.f32(out).fill(0);
      return out;
    }
    const rows = phaseAxis({
      inSize: info.inHeight,
      outSize: info.outHeight,
      filterSize: fh,
      stride: info.strideHeight,
      dilation: info.dilationHeight,
      padBefore: info.padInfo.top,
    });
    const cols = phaseAxis({
      inSize: info.inWidth,
      outSize: info.outWidth,
      filterSize: fw,
      stride: info.strideWidth,
      dilation: info.dilationWidth,
      padBefore: info.padInfo.left,
    });
    const positions = n * rows.grid * cols.grid;
    const maxShift =
      tapPhase(rows, (fh - 1) * info.dilationHeight).shift * cols.grid +
      tapPhase(cols, (fw - 1) * info.dilationWidth).shift;
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
    // [positions, c*mult] -> [c, mult, positions]
    const dyFirst = scope.reshape(transposeF32(scope, scope.reshape(dyGrid, [positions, c * mult]), [1, 0]), [
      c,
      mult,
      positions,
    ]);
    for (let kh = 0; kh < fh; kh++) {
      const r = tapPhase(rows, kh * info.dilationHeight);
      for (let kw = 0; kw < fw; kw++) {
        const q = tapPhase(cols, kw * info.dilationWidth);
        const phase = r.phase * cols.stride + q.phase;
        const offset = phase * phaseStride + r.shift * cols.grid + q.shift;
        const shifted = scope.view(phases, offset, [c, 1, positions]);
        const product = scope.run('Multiply', { a: shifted, b: dyFirst });
        const tap = scope.run('Sum', { x: product }, { axis: [2], keepDims: false });
        const heap = scope.backend.wasm.HEAPF32;
        const from = scope.heapIndex(tap);
        heap.copyWithin(scope.heapIndex(out) + (kh * fw + kw) * c * mult, from, from + c * mult);
        scope.release(tap);
        scope.release(product);
      }
    }
    return out;
  });
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as tf.KernelFunc,
};
