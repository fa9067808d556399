import { tf } from '../tf.js';
import { stockKernel } from './stock-kernels.js';
import { asWasmBackend } from './wasm-backend.js';

/**
 * Identity (`tf.clone`) for wasm without a copy. tfjs-backend-wasm 4.22 copies the whole buffer,
 * and the engine clones every tensor an op saves for its gradient, so under a gradient tape
 * each op paid a copy of its inputs and outputs (about 1,500 copies per training step of the
 * shipped UNet). Tensor data is immutable (kernels write only their own outputs, variables
 * swap buffers on assign), so the clone shares the buffer under one more reference, as
 * Reshape and the cpu backend's Identity do.
 */
function identity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === 'string')
    return stockKernel('Identity')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  asWasmBackend(args.backend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
