import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { stockKernel } from './stock-kernels.js';

/**
 * ResizeBilinearGrad for wasm. tfjs' gradient hands the kernel all of ResizeBilinear's attrs,
 * but tfjs-backend-wasm 4.22 (like the cpu backend) ignores `halfPixelCenters`, so the gradient
 * of a half-pixel-centre resize (the default in TF2 and what the cascade's pivot upsampling
 * uses) is wrong: 55% relative error against the op's exact linear response. Without
 * `halfPixelCenters` the stock kernel is correct and is used.
 *
 * With it, each output pixel's gradient is scattered to the (up to) four input pixels with the
 * forward's own weights: source `(i + 0.5) * scale - 0.5`, low index `max(0, floor)`, high index
 * `min(size - 1, ceil)`, fraction measured from the low index (tfjs' forward formula).
 */
function resizeBilinearGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const images = args.inputs.images!;
  const dy = args.inputs.dy!;
  const attrs = (args.attrs ?? {}) as { alignCorners?: boolean; halfPixelCenters?: boolean };
  if (attrs.halfPixelCenters !== true || dy.dtype !== 'float32') {
    return stockKernel('ResizeBilinearGrad')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const alignCorners = attrs.alignCorners === true;
  return withKernelScope(args.backend, [images, dy], (scope) => {
    const [n, h, w, c] = images.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const dx = scope.alloc([n, h, w, c], { zero: true });
    const rows = axisWeights(h, oh, alignCorners);
    const cols = axisWeights(w, ow, alignCorners);
    const g = scope.f32(dy);
    const out = scope.f32(dx);
    let at = 0;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const top = (b * h + rows.low[r]!) * w;
        const bottom = (b * h + rows.high[r]!) * w;
        const fr = rows.frac[r]!;
        for (let q = 0; q < ow; q++) {
          const fc = cols.frac[q]!;
          const tl = (top + cols.low[q]!) * c;
          const tr = (top + cols.high[q]!) * c;
          const bl = (bottom + cols.low[q]!) * c;
          const br = (bottom + cols.high[q]!) * c;
          const wtl = (1 - fr) * (1 - fc);
          const wtr = (1 - fr) * fc;
          const wbl = fr * (1 - fc);
          const wbr = fr * fc;
          for (let d = 0; d < c; d++) {
            const v = g[at++]!;
            out[tl + d]! += v * wtl;
            out[tr + d]! += v * wtr;
            out[bl + d]! += v * wbl;
            out[br + d]! += v * wbr;
          }
        }
      }
    }
    return dx;
  });
}

/** Per output index along one axis: the two source indices and the weight of the high one. */
function axisWeights(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
): { low: Int32Array; high: Int32Array; frac: Float64Array } {
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const low = new Int32Array(outSize);
  const high = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const source = scale * (i + 0.5) - 0.5;
    low[i] = Math.max(0, Math.floor(source));
    high[i] = Math.min(inSize - 1, Math.ceil(source));
    frac[i] = source - low[i]!;
  }
  return { low, high, frac };
}

export const resizeBilinearGradConfig: tf.KernelConfig = {
  kernelName: tf.ResizeBilinearGrad,
  backendName: 'wasm',
  kernelFunc: resizeBilinearGrad as unknown as tf.KernelFunc,
};
