import { type Clip, createClip } from '../data/clip.js';

/**
 * Spatial area (box-filter) resize of every frame to `height` x `width`, for any ratio: each
 * output pixel is the area-weighted mean of the input pixels its footprint covers, so an
 * integer downsample is an exact block mean and the mean colour of a frame is preserved.
 * Frames are not resampled in time. Layout stays [frames, h, w, 3].
 */
export function areaResize(clip: Clip, height: number, width: number): Clip {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new RangeError(`areaResize target ${height}x${width} must be positive integers`);
  }
  if (height === clip.height && width === clip.width) return clip;
  const fy = clip.height / height;
  const fx = clip.width / width;
  if (Number.isInteger(fy) && Number.isInteger(fx)) return blockMean(clip, fy, fx);
  const rows = axisWeights(clip.height, height);
  const cols = axisWeights(clip.width, width);
  const out = createClip(clip.frames, height, width);
  const src = clip.data;
  const dst = out.data;
  const inFrame = clip.height * clip.width * 3;
  const outFrame = height * width * 3;
  // Rows first into a [height, inWidth, 3] buffer, then columns: separable, O(pixels * taps).
  const tmp = new Float64Array(height * clip.width * 3);
  for (let t = 0; t < clip.frames; t++) {
    const base = t * inFrame;
    tmp.fill(0);
    for (let oy = 0; oy < height; oy++) {
      const taps = rows[oy]!;
      const rowOut = oy * clip.width * 3;
      for (let k = 0; k < taps.index.length; k++) {
        const w = taps.weight[k]!;
        const rowIn = base + taps.index[k]! * clip.width * 3;
        for (let i = 0; i < clip.width * 3; i++) tmp[rowOut + i]! += w * src[rowIn + i]!;
      }
    }
    const obase = t * outFrame;
    for (let oy = 0; oy < height; oy++) {
      const rowTmp = oy * clip.width * 3;
      for (let ox = 0; ox < width; ox++) {
        const taps = cols[ox]!;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0; k < taps.index.length; k++) {
          const w = taps.weight[k]!;
          const j = rowTmp + taps.index[k]! * 3;
          r += w * tmp[j]!;
          g += w * tmp[j + 1]!;
          b += w * tmp[j + 2]!;
        }
        const o = obase + (oy * width + ox) * 3;
        dst[o] = r;
        dst[o + 1] = g;
        dst[o + 2] = b;
      }
    }
  }
  return out;
}

interface Taps {
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** For each output cell, the input cells it overlaps and their overlap fractions (sum 1). */
function axisWeights(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const taps: Taps[] = [];
  for (let o = 0; o < outSize; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    const first = Math.floor(lo);
    const last = Math.min(inSize - 1, Math.ceil(hi) - 1);
    const index: number[] = [];
    const weight: number[] = [];
    for (let i = first; i <= last; i++) {
      const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
      if (overlap > 1e-12) {
        index.push(i);
        weight.push(overlap / scale);
      }
    }
    taps.push({ index: Int32Array.from(index), weight: Float64Array.from(weight) });
  }
  return taps;
}

/** Integer factors: each output pixel is the plain mean of an fy x fx block (the common case). */
function blockMean(clip: Clip, fy: number, fx: number): Clip {
  const h = clip.height / fy;
  const w = clip.width / fx;
  const out = createClip(clip.frames, h, w);
  const src = clip.data;
  const dst = out.data;
  const inv = 1 / (fy * fx);
  const rowIn = clip.width * 3;
  for (let t = 0; t < clip.frames; t++) {
    for (let y = 0; y < h; y++) {
      const o = (t * h + y) * w * 3;
      for (let dy = 0; dy < fy; dy++) {
        let s = (t * clip.height + y * fy + dy) * rowIn;
        for (let x = 0; x < w; x++) {
          let r = 0;
          let g = 0;
          let b = 0;
          for (let dx = 0; dx < fx; dx++, s += 3) {
            r += src[s]!;
            g += src[s + 1]!;
            b += src[s + 2]!;
          }
          const k = o + 3 * x;
          dst[k] = dst[k]! + r * inv;
          dst[k + 1] = dst[k + 1]! + g * inv;
          dst[k + 2] = dst[k + 2]! + b * inv;
        }
      }
    }
  }
  return out;
}
