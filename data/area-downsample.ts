import { CascadeError } from '../util/cascade-error.js';
import { type Clip, createClip } from './clip.js';

/**
 * Box (area) downsampling by an integer factor per side: each output pixel is the mean of a
 * factor x factor block, per frame and channel. This is how pivots are made from high-res
 * ground truth, and the same filter the renderer approximates per pixel.
 */
export function areaDownsample(clip: Clip, factor: number): Clip {
  const { frames, height, width } = clip;
  if (!Number.isInteger(factor) || factor < 1 || height % factor !== 0 || width % factor !== 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `area downsample factor ${factor} does not divide the clip size ${height}x${width}; use a factor that divides both sides`,
      { path: 'factor', details: { factor, height, width } },
    );
  }
  if (factor === 1) return createClip(frames, height, width, clip.data.slice());
  const h = height / factor;
  const w = width / factor;
  const out = createClip(frames, h, w);
  const src = clip.data;
  const dst = out.data;
  const inv = 1 / (factor * factor);
  const row = new Float64Array(w * 3);
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < h; y++) {
      row.fill(0);
      for (let dy = 0; dy < factor; dy++) {
        let s = (t * height + y * factor + dy) * width * 3;
        for (let x = 0; x < w; x++) {
          let r = 0;
          let g = 0;
          let b = 0;
          for (let dx = 0; dx < factor; dx++, s += 3) {
            r += src[s]!;
            g += src[s + 1]!;
            b += src[s + 2]!;
          }
          row[3 * x] = row[3 * x]! + r;
          row[3 * x + 1] = row[3 * x + 1]! + g;
          row[3 * x + 2] = row[3 * x + 2]! + b;
        }
      }
      const d = (t * h + y) * w * 3;
      for (let k = 0; k < w * 3; k++) dst[d + k] = row[k]! * inv;
    }
  }
  return out;
}
