/**
 * Deterministic corruptions of real clips: the failure modes the metrics and the frame checks
 * must see (frames out of order, lost detail, noise, per-frame colour flicker). Used by the
 * tests that calibrate them.
 */
import { type Clip, createClip } from '../data/clip.js';
import { resampleClip } from '../data/resample-clip.js';
import { Rng } from '../util/rng.js';
import { areaResize } from './area-resize.js';

/** The same frames in a seeded random order. */
export function shuffleFrames(clip: Clip, seed: number): Clip {
  const rng = new Rng(seed);
  const order = Array.from({ length: clip.frames }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const n = clip.height * clip.width * 3;
  const out = createClip(clip.frames, clip.height, clip.width);
  order.forEach((src, t) => {
    out.data.set(clip.data.subarray(src * n, (src + 1) * n), t * n);
  });
  return out;
}

/** Loses detail finer than 2 px: area-downsample by 2, bilinear back up. */
export function blurClip(clip: Clip): Clip {
  return resampleClip(areaResize(clip, clip.height / 2, clip.width / 2), clip.height, clip.width, 'bilinear');
}

/** Adds seeded Gaussian noise of standard deviation `sigma`, clamped to [0, 1]. */
export function addNoise(clip: Clip, seed: number, sigma = 0.1): Clip {
  const rng = new Rng(seed);
  return createClip(
    clip.frames,
    clip.height,
    clip.width,
    Float32Array.from(clip.data, (v) => Math.min(1, Math.max(0, v + sigma * rng.normal()))),
  );
}

/**
 * Colour flicker: every frame gets its own seeded RGB offset, uniform in [-amount, amount] per
 * channel, clamped to [0, 1]: what a video model that picks each frame's colours separately
 * produces.
 */
export function flickerColours(clip: Clip, seed: number, amount = 0.15): Clip {
  const rng = new Rng(seed);
  const n = clip.height * clip.width;
  const out = createClip(clip.frames, clip.height, clip.width);
  for (let t = 0; t < clip.frames; t++) {
    const shift = [rng.uniform(-amount, amount), rng.uniform(-amount, amount), rng.uniform(-amount, amount)];
    for (let i = t * n * 3; i < (t + 1) * n * 3; i++) {
      out.data[i] = Math.min(1, Math.max(0, clip.data[i]! + shift[i % 3]!));
    }
  }
  return out;
}
