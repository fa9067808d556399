import { CascadeError } from '../../util/cascade-error.js';
import type { tf } from '../tf.js';

/**
 * tfjs-backend-wasm's own kernels that the project replaced, kept so a replacement can hand
 * the cases it does not improve (other dtypes, already-fast layouts) back to them.
 */
const stock = new Map<string, tf.KernelFunc>();

/** Called by `registerWasmKernels` before it replaces `config`. */
export function rememberStockKernel(config: tf.KernelConfig): void {
  if (!stock.has(config.kernelName)) stock.set(config.kernelName, config.kernelFunc);
}

/** The stock wasm kernel that the project's kernel of the same name replaced. */
export function stockKernel(kernelName: string): tf.KernelFunc {
  const found = stock.get(kernelName);
  if (found === undefined) {
    throw new CascadeError(
      'INTERNAL',
      `The stock wasm kernel ${kernelName} was not recorded; register the project's kernels with registerWasmKernels().`,
    );
  }
  return found;
}
