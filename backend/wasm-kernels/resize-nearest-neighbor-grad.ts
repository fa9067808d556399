import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';
import { stockKernel } from './stock-kernels.js';

/**
 * ResizeNearestNeighborGrad for wasm. Like the bilinear one, the stock wasm (and cpu) kernel
 * ignores `halfPixelCenters`, which tfjs' gradient does pass: 87% relative error against the
 * op's exact linear response. With it, each output's gradient goes to the input pixel the
 * forward copied from (tfjs' forward formula: `(i + 0.5) * scale`, floored, or rounded with
 * `alignCorners`, clamped to the image); without it the stock kernel is correct and is used.
 */
function resizeNearestNeighborGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const images = args.inputs.images!;
  const dy = args.inputs.dy!;
  const attrs = (args.attrs ?? {}) as { alignCorners?: boolean; halfPixelCenters?: boolean };
  if (attrs.halfPixelCenters !== true || dy.dtype !== 'float32') {
    return stockKernel('ResizeNearestNeighborGrad')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const alignCorners = attrs.alignCorners === true;
  return withKernelScope(args.backend, [images, dy], (scope) => {
    const [n, h, w, c] = images.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const dx = scope.alloc([n, h, w, c], { zero: true });
    const rows = sources(h, oh, alignCorners);
    const cols = sources(w, ow, alignCorners);
    const g = scope.f32(dy);
    const out = scope.f32(dx);
    let at = 0;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const row = (b * h + rows[r]!) * w;
        for (let q = 0; q < ow; q++) {
          const to = (row + cols[q]!) * c;
          for (let d = 0; d < c; d++) out[to + d]! += g[at++]!;
        }
      }
    }
    return dx;
  });
}

/** The source index of every output index along one axis (half-pixel centres). */
function sources(inSize: number, outSize: number, alignCorners: boolean): Int32Array {
  const corners = alignCorners && outSize > 1;
  const scale = corners ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const out = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const source = scale * (i + 0.5);
    const nearest = Math.min(inSize - 1, alignCorners ? Math.round(source) : Math.floor(source));
    out[i] = Math.max(0, nearest);
  }
  return out;
}

export const resizeNearestNeighborGradConfig: tf.KernelConfig = {
  kernelName: tf.ResizeNearestNeighborGrad,
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
};
