import { tf } from '../tf.js';
import { requireChannelsLast } from './conv-attrs.js';
import { gemmConv2d, windowOverrun } from './gemm-conv.js';
import { type KernelScope, withKernelScope } from './kernel-scope.js';
import { simdKernels } from './simd-kernels.js';
import { stockKernel } from './stock-kernels.js';

/**
 * Conv2D for wasm: the SIMD GEMM conv (gemm-conv.ts) when it applies (float32, dilation 1,
 * output channels a multiple of 4, a filter row at least 16 floats deep, SIMD routines
 * available), else tfjs-backend-wasm 4.22's own (XNNPACK) kernel (e.g. a first conv from RGB,
 * a last conv to RGB).
 */
function conv2d(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const filter = args.inputs.filter!;
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    requireChannelsLast(attrs.dataFormat, 'Conv2D'),
  );
  const simd = simdKernels(args.backend as KernelScope['backend']);
  const pads = info.padInfo;
  const overruns =
    windowOverrun(
      info.outHeight,
      info.strideHeight,
      info.filterHeight,
      info.inHeight + pads.top + pads.bottom,
    ) > 0 ||
    windowOverrun(info.outWidth, info.strideWidth, info.filterWidth, info.inWidth + pads.left + pads.right) >
      0;
  if (
    simd === undefined ||
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    info.dilationHeight !== 1 ||
    info.dilationWidth !== 1 ||
    info.outChannels % 4 !== 0 ||
    // Shallow products (an RGB input: 3 taps x 3 channels) run faster on XNNPACK, but
    // XNNPACK's output differs from the cpu backend's where windows overrun.
    (info.filterWidth * info.inChannels < 16 && !overruns)
  ) {
    return stockKernel('Conv2D')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  return withKernelScope(args.backend, [x, filter], (scope) => {
    const out = scope.alloc(info.outShape);
    gemmConv2d(scope, simd, {
      x,
      filter,
      out,
      batch: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      inChannels: info.inChannels,
      outChannels: info.outChannels,
      filterHeight: info.filterHeight,
      filterWidth: info.filterWidth,
      strides: [info.strideHeight, info.strideWidth],
      pads,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
    });
    return out;
  });
}

export const conv2dConfig: tf.KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: 'wasm',
  kernelFunc: conv2d as unknown as tf.KernelFunc,
};
