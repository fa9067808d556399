import { tf } from '../tf.js';
import { withKernelScope } from './kernel-scope.js';

/**
 * MaxPoolGrad for wasm. tfjs-backend-wasm 4.22's MaxPoolGrad gives wrong gradients once the
 * batch or the channel count exceeds 1 (checked against the cpu backend and a direct loop).
 * Same semantics as the cpu backend: each output's gradient goes to the first maximum of its
 * window in row-major order. One pass over the windows, channels innermost.
 */
function maxPoolGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const dy = args.inputs.dy!;
  const x = args.inputs.input!;
  const attrs = (args.attrs ?? {}) as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return withKernelScope(args.backend, [dy, x], (scope) => {
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
    const dx = scope.alloc([n, h, w, c], { zero: true });
    const xs = scope.f32(x);
    const dys = scope.f32(dy);
    const dxs = scope.f32(dx);
    const best = new Float32Array(c);
    const where = new Int32Array(c);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < ho; i++) {
        const top = i * info.strideHeight - info.padInfo.top;
        for (let j = 0; j < wo; j++) {
          const left = j * info.strideWidth - info.padInfo.left;
          best.fill(Number.NEGATIVE_INFINITY);
          where.fill(-1);
          for (let r = Math.max(0, top); r < Math.min(h, top + info.filterHeight); r++) {
            for (let s = Math.max(0, left); s < Math.min(w, left + info.filterWidth); s++) {
              const base = ((b * h + r) * w + s) * c;
              for (let ch = 0; ch < c; ch++) {
                const v = xs[base + ch]!;
                if (v > best[ch]!) {
                  best[ch] = v;
                  where[ch] = base + ch;
                }
              }
            }
          }
          const out = ((b * ho + i) * wo + j) * c;
          for (let ch = 0; ch < c; ch++) {
            const at = where[ch]!;
            if (at >= 0) dxs[at]! += dys[out + ch]!;
          }
        }
      }
    }
    return dx;
  });
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
