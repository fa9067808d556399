import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { transposedConv } from './transposed-conv.js';
import { transposedAxisPlan } from './transposed-conv-plan.js';

/**
 * DepthwiseConv2dNativeBackpropInput for wasm (missing in tfjs-backend-wasm 4.22): one XNNPACK
 * depthwise stride-1 conv of `dy` per stride phase with the phase's taps reversed (see
 * transposed-conv.ts), then the channel multiplier's outputs summed per input channel.
 * `dy [n, ho, wo, c*mult]`, filter `[fh, fw, c, mult]`, result `inputShape = [n, h, w, c]`.
 * Dilations leave zero slots in the phase filters (rare; correct, a little wasted work).
 */
function depthwiseConv2dNativeBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const dy = args.inputs.dy!;
  const filter = args.inputs.filter!;
  const attrs = (args.attrs ?? {}) as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const rows = transposedAxisPlan({
    inSize: info.inHeight,
    outSize: info.outHeight,
    filterSize: info.filterHeight,
    stride: info.strideHeight,
    dilation: info.dilationHeight,
    padBefore: info.padInfo.top,
  });
  const cols = transposedAxisPlan({
    inSize: info.inWidth,
    outSize: info.outWidth,
    filterSize: info.filterWidth,
    stride: info.strideWidth,
    dilation: info.dilationWidth,
    padBefore: info.padInfo.left,
  });
  return withKernelScope(args.backend, [dy, filter], (scope) =>
    transposedConv(scope, dy, filter, { inShape: attrs.inputShape, rows, cols, depthwise: true }),
  );
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as tf.KernelFunc,
};
