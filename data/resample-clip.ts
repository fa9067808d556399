import { type Clip, createClip } from './clip.js';

export type ResampleFilter = 'bilinear' | 'bicubic' | 'lanczos';

/** Kernel and half-width (in source pixels at scale 1) of each filter. */
const KERNELS: Record<ResampleFilter, { support: number; weight: (x: number) => number }> = {
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  // Keys cubic with a = -0.5 (Catmull-Rom), as in most image tools' "bicubic".
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
      if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
      return 0;
    },
  },
  lanczos: {
    support: 3,
    weight: (x) => {
      if (x === 0) return 1;
      if (Math.abs(x) >= 3) return 0;
      const px = Math.PI * x;
      return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
    },
  },
};

interface Taps {
  readonly start: Int32Array;
  readonly count: number;
  readonly weights: Float32Array;
}

/**
 * Per output index, the source indices (clamped at the edges) and normalised weights. Pixel
 * centres map as (o + 0.5) * in/out - 0.5; when shrinking, the kernel is stretched by in/out so
 * it also low-passes (no aliasing).
 */
function taps(inSize: number, outSize: number, filter: ResampleFilter): Taps {
  const { support, weight } = KERNELS[filter];
  const ratio = inSize / outSize;
  const stretch = Math.max(1, ratio);
  const count = Math.ceil(support * stretch) * 2 + 1;
  const start = new Int32Array(outSize);
  const weights = new Float32Array(outSize * count);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * ratio - 0.5;
    const first = Math.floor(centre) - Math.floor(count / 2) + 1;
    start[o] = first;
    let sum = 0;
    for (let k = 0; k < count; k++) {
      const w = weight((first + k - centre) / stretch);
      weights[o * count + k] = w;
      sum += w;
    }
    for (let k = 0; k < count; k++) weights[o * count + k]! /= sum;
  }
  return { start, count, weights };
}

/**
 * Resizes every frame of a clip with a separable filter (frames are not resampled in time).
 * Values are clamped to [0, 1], since bicubic and Lanczos overshoot at edges.
 */
export function resampleClip(clip: Clip, height: number, width: number, filter: ResampleFilter): Clip {
  const { frames, height: h, width: w, data } = clip;
  const out = createClip(frames, height, width);
  const tx = taps(w, width, filter);
  const ty = taps(h, height, filter);
  const row = new Float32Array(width * 3 * h);
  for (let t = 0; t < frames; t++) {
    const src = t * h * w * 3;
    // Horizontal pass into `row` ([h, width, 3]).
    for (let y = 0; y < h; y++) {
      for (let o = 0; o < width; o++) {
        let r = 0;
        let g = 0;
        let b = 0;
        const first = tx.start[o]!;
        for (let k = 0; k < tx.count; k++) {
          const x = Math.min(w - 1, Math.max(0, first + k));
          const wt = tx.weights[o * tx.count + k]!;
          const i = src + (y * w + x) * 3;
          r += wt * data[i]!;
          g += wt * data[i + 1]!;
          b += wt * data[i + 2]!;
        }
        const j = (y * width + o) * 3;
        row[j] = r;
        row[j + 1] = g;
        row[j + 2] = b;
      }
    }
    // Vertical pass into the output frame.
    const dst = t * height * width * 3;
    for (let o = 0; o < height; o++) {
      const first = ty.start[o]!;
      for (let x = 0; x < width * 3; x++) {
        let v = 0;
        for (let k = 0; k < ty.count; k++) {
          const y = Math.min(h - 1, Math.max(0, first + k));
          v += ty.weights[o * ty.count + k]! * row[y * width * 3 + x]!;
        }
        out.data[dst + o * width * 3 + x] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}
