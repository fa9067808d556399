import { tf } from '../tf.js';

/** Kernels that replace or complete tfjs-backend-wasm 4.22 for training; filled in by the kernels work. */
const WASM_KERNELS: tf.KernelConfig[] = [];

let registered = false;

/** Registers the project's wasm kernels once; safe to call again. */
export function registerWasmKernels(): void {
  if (registered) return;
  for (const config of WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  registered = true;
}
