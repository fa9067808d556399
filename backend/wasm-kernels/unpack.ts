import { tf } from '../tf.js';
import { sliceConfig } from './slice.js';

/**
 * Unpack (`tf.unstack`, and the gradient of `tf.stack`) for wasm. tfjs-backend-wasm 4.22's
 * Unpack calls its own Slice directly, which copies the whole input once per output; this one
 * uses the project's Slice, which copies only each output.
 */
function unpack(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const value = args.inputs.value!;
  const { axis } = (args.attrs ?? {}) as unknown as tf.UnpackAttrs;
  const along = tf.util.parseAxisParam(axis, value.shape)[0]!;
  const count = value.shape[along]!;
  const outShape = value.shape.filter((_, i) => i !== along);
  const size = [...value.shape];
  size[along] = 1;
  const begin = new Array<number>(value.shape.length).fill(0);
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    begin[along] = i;
    const piece = sliceConfig.kernelFunc({
      inputs: { x: value },
      backend: args.backend as object,
      attrs: { begin: [...begin], size },
    }) as tf.TensorInfo;
    // Dropping a size-1 axis keeps the layout: the same buffer under the squeezed shape.
    outs.push({ dataId: piece.dataId, shape: outShape, dtype: piece.dtype });
  }
  return outs;
}

export const unpackConfig: tf.KernelConfig = {
  kernelName: tf.Unpack,
  backendName: 'wasm',
  kernelFunc: unpack as unknown as tf.KernelFunc,
};
