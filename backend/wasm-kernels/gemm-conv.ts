import type { tf } from '../tf.js';
import type { KernelScope } from './kernel-scope.js';
import type { SimdKernels } from './simd-kernels.js';

/** A dilation-1 NHWC conv: `x [batch, inHeight, inWidth, inChannels]`, filter `[fh, fw, in, out]`. */
export interface GemmConvCall {
  readonly x: tf.TensorInfo;
  readonly filter: tf.TensorInfo;
  /** `[batch, outHeight, outWidth, outChannels]` (a view is fine); outChannels a multiple of 4. */
  readonly out: tf.TensorInfo;
  readonly batch: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strides: readonly [number, number];
  readonly pads: {
    readonly top: number;
    readonly bottom: number;
    readonly left: number;
    readonly right: number;
  };
  readonly outHeight: number;
  readonly outWidth: number;
}

/**
 * How far the last window of an axis runs past the padded input (> 0 only with
 * dimRoundingMode 'ceil'); the cpu backend reads zeros there.
 */
export function windowOverrun(
  outSize: number,
  stride: number,
  filterSize: number,
  paddedSize: number,
): number {
  return Math.max(0, (outSize - 1) * stride + filterSize - paddedSize);
}

/**
 * A conv as SIMD GEMMs (simd-gemm.ts) on the zero-padded input, one product per output row
 * and filter row (one call per image and filter row covers all output rows): in NHWC the `fw`
 * taps of a filter row read `fw * in` contiguous floats of an input row, and the next output
 * pixel starts `stride * in` floats later, so output row y of image b is
 * `xpad[b, y*sh + kh, :]` (rows overlapping, stride `sw*in`, depth `fw*in`) times the filter
 * row `[fw*in, out]`, summed over kh. No im2col copy, nothing packed, no operator, no work
 * wasted on padding. In A/B runs in one process it was 1.0-1.3x XNNPACK's conv at the UNet's
 * shapes (the machine's minute-to-minute noise is of the same size).
 */
export function gemmConv2d(scope: KernelScope, simd: SimdKernels, c: GemmConvCall): void {
  const { batch, inChannels: ci, outChannels: co, filterHeight: fh, filterWidth: fw } = c;
  const { outHeight: ho, outWidth: wo, pads } = c;
  if (batch * ho * wo * co === 0) return;
  if (ci === 0) {
    scope.f32(c.out).fill(0);
    return;
  }
  const [sh, sw] = c.strides;
  // dimRoundingMode 'ceil' can ask for outputs whose window runs past the padded input; as on
  // the cpu backend, the part outside reads zeros (more bottom/right padding).
  const bottom = pads.bottom + windowOverrun(ho, sh, fh, c.inHeight + pads.top + pads.bottom);
  const right = pads.right + windowOverrun(wo, sw, fw, c.inWidth + pads.left + pads.right);
  const padded = pads.top + bottom + pads.left + right > 0;
  const xp = padded
    ? scope.run(
        'PadV2',
        { x: c.x },
        {
          paddings: [
            [0, 0],
            [pads.top, bottom],
            [pads.left, right],
            [0, 0],
          ],
          constantValue: 0,
        },
      )
    : c.x;
  const hp = c.inHeight + pads.top + bottom;
  const wp = c.inWidth + pads.left + right;
  const xAt = 4 * scope.heapIndex(xp);
  const filterAt = 4 * scope.heapIndex(c.filter);
  const outAt = 4 * scope.heapIndex(c.out);
  const rowBytes = 4 * wp * ci;
  const filterRowBytes = 4 * fw * ci * co;
  // Per image and filter row, one call covers every output row y (A rows start sh input rows
  // apart, C rows wo pixels apart); the filter rows accumulate into the image's output.
  for (let b = 0; b < batch; b++) {
    for (let kh = 0; kh < fh; kh++) {
      simd.gemm(
        xAt + (b * hp + kh) * rowBytes,
        filterAt + kh * filterRowBytes,
        outAt + 4 * b * ho * wo * co,
        wo,
        co,
        fw * ci,
        4 * sw * ci,
        4,
        4 * co,
        4 * co,
        kh === 0 ? 0 : 1,
        ho,
        sh * rowBytes,
        0,
        4 * wo * co,
      );
    }
  }
  if (padded) scope.release(xp);
}
