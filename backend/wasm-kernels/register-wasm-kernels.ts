import { tf } from '../tf.js';
import { avgPoolGradConfig } from './avg-pool-grad.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import {
  addConfig,
  multiplyConfig,
  realDivConfig,
  squaredDifferenceConfig,
  subConfig,
} from './broadcast-binary.js';
import { concatConfig } from './concat.js';
import { conv2dConfig } from './conv2d.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-native-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-native-backprop-input.js';
import { groupNormConfig, groupNormGradConfig } from './group-norm.js';
import { identityConfig } from './identity.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { meanConfig } from './mean.js';
import { resizeBilinearGradConfig } from './resize-bilinear-grad.js';
import { resizeNearestNeighborGradConfig } from './resize-nearest-neighbor-grad.js';
import { sliceConfig } from './slice.js';
import { splitVConfig } from './split-v.js';
import { rememberStockKernel } from './stock-kernels.js';
import { sumConfig } from './sum.js';
import { tileConfig } from './tile.js';
import { transposeConfig } from './transpose.js';
import { unpackConfig } from './unpack.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/**
 * Kernels that replace or complete tfjs-backend-wasm 4.22 for training. Each replaces the
 * stock kernel of the same name when there is one (the fused GroupNorm pair are the project's own).
 */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2dConfig,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  batchMatMulConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  unsortedSegmentSumConfig,
  sliceConfig,
  tileConfig,
  maxPoolGradConfig,
  transposeConfig,
  splitVConfig,
  unpackConfig,
  sumConfig,
  meanConfig,
  addConfig,
  subConfig,
  multiplyConfig,
  realDivConfig,
  squaredDifferenceConfig,
  concatConfig,
  resizeBilinearGradConfig,
  resizeNearestNeighborGradConfig,
  avgPoolGradConfig,
  identityConfig,
  groupNormConfig,
  groupNormGradConfig,
];

let registered = false;

/** Registers the project's wasm kernels once; safe to call again. */
export function registerWasmKernels(): void {
  if (registered) return;
  for (const config of WASM_KERNELS) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing) {
      rememberStockKernel(existing);
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  registered = true;
}
