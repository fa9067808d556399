import { tf } from '../tf.js';
import { requireChannelsLast } from './conv-attrs.js';
import { withKernelScope } from './kernel-scope.js';
import { transposedConv } from './transposed-conv.js';
import { transposedAxisPlan } from './transposed-conv-plan.js';

/**
 * Conv2DBackpropInput for wasm, replacing tfjs-backend-wasm 4.22's scalar loop (~2 GFLOP/s)
 * with stride-1 convs (transposed-conv.ts: the SIMD GEMM conv, or XNNPACK's): one conv of `dy`
 * with the reversed, channel-swapped filter per stride phase (stride^2 convs of ~1/stride^2 of the taps each, so the MACs equal the forward
 * conv's; no inserted zeros are multiplied). `dy [n, ho, wo, co]`, filter `[fh, fw, c, co]`,
 * result `[n, h, w, c]` with `inputShape = [n, h, w, c]`.
 */
function conv2dBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    requireChannelsLast(attrs.dataFormat, 'Conv2DBackpropInput'),
  );
  const rows = transposedAxisPlan({
    inSize: info.inHeight,
    outSize: info.outHeight,
    filterSize: info.filterHeight,
    stride: info.strideHeight,
    dilation: 1,
    padBefore: info.padInfo.top,
  });
  const cols = transposedAxisPlan({
    inSize: info.inWidth,
    outSize: info.outWidth,
    filterSize: info.filterWidth,
    stride: info.strideWidth,
    dilation: 1,
    padBefore: info.padInfo.left,
  });
  return withKernelScope(args.backend, [dy, filter], (scope) =>
    transposedConv(scope, dy, filter, { inShape: attrs.inputShape, rows, cols, depthwise: false }),
  );
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
