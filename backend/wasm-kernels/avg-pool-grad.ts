import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';

/**
 * AvgPoolGrad for wasm. tfjs' avgPool averages each window over its pixels inside the image
 * (padding excluded), but the stock wasm (and cpu) gradient divides by the full window size,
 * so with 'same' or explicit padding the border gradients are wrong (45-75% relative error
 * against the op's exact linear response). Here each output's gradient is shared equally by
 * exactly the pixels its window averaged.
 */
function avgPoolGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const dy = args.inputs.dy!;
  const x = args.inputs.input!;
  const attrs = (args.attrs ?? {}) as unknown as tf.AvgPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
  );
  return withKernelScope(args.backend, [dy, x], (scope) => {
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
    const dx = scope.alloc([n, h, w, c], { zero: true });
    const g = scope.f32(dy);
    const out = scope.f32(dx);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < ho; i++) {
        const top = i * info.strideHeight - info.padInfo.top;
        const r0 = Math.max(0, top);
        const r1 = Math.min(h, top + info.filterHeight);
        for (let j = 0; j < wo; j++) {
          const left = j * info.strideWidth - info.padInfo.left;
          const c0 = Math.max(0, left);
          const c1 = Math.min(w, left + info.filterWidth);
          const count = (r1 - r0) * (c1 - c0);
          if (count <= 0) continue;
          const from = ((b * ho + i) * wo + j) * c;
          for (let r = r0; r < r1; r++) {
            for (let s = c0; s < c1; s++) {
              const to = ((b * h + r) * w + s) * c;
              for (let d = 0; d < c; d++) out[to + d]! += g[from + d]! / count;
            }
          }
        }
      }
    }
    return dx;
  });
}

export const avgPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.AvgPoolGrad,
  backendName: 'wasm',
  kernelFunc: avgPoolGrad as unknown as tf.KernelFunc,
};
