import { describe, expect, it } from 'vitest';
import { type Clip, createClip } from '../data/clip.js';
import { renderScene } from '../data/render-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import { blurClip, shuffleFrames } from '../eval/corrupt-clip.js';
import { detailEnergy, detailRatio } from '../eval/detail-score.js';
import {
  chunkSeamRatio,
  meanFrameDifference,
  relativeToReal,
  stageSeamRatio,
  warpingError,
} from '../eval/temporal-metrics.js';
import { Rng } from '../util/rng.js';

function clips(size: number, count: number, seed: number): Clip[] {
  return Array.from({ length: count }, (_, i) =>
    renderScene(sampleScene(seed + i), { height: size, width: size, frames: 16 }),
  );
}

describe('temporal metrics', () => {
  it('shuffling frames raises flicker and warping error (set means, 32 and 64 px)', () => {
    for (const size of [32, 64]) {
      const real = clips(size, 8, 50_000);
      const shuf = real.map((c, i) => shuffleFrames(c, i));
      const flicker = relativeToReal(shuf, real, meanFrameDifference);
      expect(flicker).toBeGreaterThan(2);
      const warp = real.map((c) => warpingError(c));
      const warpShuf = shuf.map((c) => warpingError(c));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(warpShuf.map((w) => w.value))).toBeGreaterThan(1.1 * mean(warp.map((w) => w.value)));
      expect(mean(warpShuf.map((w) => w.unmasked))).toBeGreaterThan(1.5 * mean(warp.map((w) => w.unmasked)));
      expect(mean(warpShuf.map((w) => w.validFraction))).toBeLessThan(mean(warp.map((w) => w.validFraction)));
      // On real clips the mask only removes thin disocclusion bands.
      expect(mean(warp.map((w) => w.validFraction))).toBeGreaterThan(0.85);
    }
  });

  it('gives zero warping error for a static clip and tracks a translating pattern', () => {
    const still = createClip(4, 32, 32);
    for (let t = 0; t < 4; t++) {
      for (let p = 0; p < 32 * 32; p++)
        still.data.fill(((p * 7) % 13) / 13, (t * 1024 + p) * 3, (t * 1024 + p) * 3 + 3);
    }
    expect(warpingError(still).value).toBe(0);
    // A smooth texture moving 1 px right per frame: the flow explains it, the raw difference does not.
    const moving = createClip(6, 48, 48);
    for (let t = 0; t < 6; t++) {
      for (let y = 0; y < 48; y++) {
        for (let x = 0; x < 48; x++) {
          const v = 0.5 + 0.25 * Math.sin((x - t) * 0.5) * Math.cos(y * 0.4);
          moving.data.fill(v, ((t * 48 + y) * 48 + x) * 3, ((t * 48 + y) * 48 + x) * 3 + 3);
        }
      }
    }
    const w = warpingError(moving);
    expect(w.value).toBeLessThan(0.2 * meanFrameDifference(moving));
  });

  it('measures stage seams against the pivot and chunk seams at chunk boundaries', () => {
    const scene = sampleScene(60_001);
    const hi = renderScene(scene, { height: 64, width: 64, frames: 16 });
    const pivot = renderScene(scene, { height: 32, width: 32, frames: 16 });
    const otherPivot = renderScene(sampleScene(60_002), { height: 32, width: 32, frames: 16 });
    expect(stageSeamRatio(hi, pivot)).toBeLessThan(0.5);
    expect(stageSeamRatio(hi, otherPivot)).toBeGreaterThan(3);
    // Two chunks of 8 frames from different scenes: a jump at the boundary.
    const a = renderScene(sampleScene(60_003), { height: 32, width: 32, frames: 16 });
    const joined = createClip(16, 32, 32, a.data.slice());
    const n = 32 * 32 * 3;
    joined.data.set(otherPivot.data.subarray(8 * n), 8 * n);
    expect(chunkSeamRatio(joined, 8)).toBeGreaterThan(3);
    expect(chunkSeamRatio(a, 8)).toBeLessThan(2);
    expect(() => chunkSeamRatio(a, 16)).toThrow(/chunkFrames/);
  });
});

describe('detail score', () => {
  it('blurring lowers the detail score at 32 and 128 px', () => {
    for (const size of [32, 128]) {
      const real = clips(size, 4, 70_000);
      const ratio = detailRatio(real.map(blurClip), real);
      expect(ratio).toBeLessThan(0.6);
      expect(detailRatio(real, real)).toBeCloseTo(1, 10);
    }
  });

  it('is zero for a flat clip and higher for noise', () => {
    const flat = createClip(2, 16, 16).data.fill(0.5);
    expect(detailEnergy(createClip(2, 16, 16, flat))).toBe(0);
    const rng = new Rng(1);
    const noise = createClip(
      2,
      16,
      16,
      Float32Array.from({ length: 2 * 16 * 16 * 3 }, () => rng.next()),
    );
    expect(detailEnergy(noise)).toBeGreaterThan(0.01);
  });
});
