import { describe, expect, it } from 'vitest';
import { createClip } from '../data/clip.js';
import { resampleClip } from '../data/resample-clip.js';

function ramp(frames: number, h: number, w: number) {
  const clip = createClip(frames, h, w);
  for (let t = 0; t < frames; t++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) clip.data[((t * h + y) * w + x) * 3 + c] = (x + y + c) / (h + w + 2);
  return clip;
}

describe('resampleClip', () => {
  it.each(['bilinear', 'bicubic', 'lanczos'] as const)(
    '%s keeps a constant clip constant and sizes right',
    (filter) => {
      const clip = createClip(2, 8, 6, new Float32Array(2 * 8 * 6 * 3).fill(0.25));
      const up = resampleClip(clip, 32, 24, filter);
      expect([up.frames, up.height, up.width]).toEqual([2, 32, 24]);
      for (const v of up.data) expect(v).toBeCloseTo(0.25, 6);
    },
  );

  it.each(['bilinear', 'bicubic', 'lanczos'] as const)(
    '%s up then area-like down returns close to the original',
    (filter) => {
      const clip = ramp(1, 8, 8);
      const back = resampleClip(resampleClip(clip, 32, 32, filter), 8, 8, filter);
      let err = 0;
      // Interior pixels only: edges are clamped by design.
      for (let y = 2; y < 6; y++)
        for (let x = 2; x < 6; x++)
          err = Math.max(err, Math.abs(back.data[(y * 8 + x) * 3]! - clip.data[(y * 8 + x) * 3]!));
      expect(err).toBeLessThan(0.02);
    },
  );

  it('bilinear 2x matches the half-pixel-centre formula', () => {
    const clip = ramp(1, 4, 4);
    const up = resampleClip(clip, 8, 8, 'bilinear');
    // Output x=3 maps to source 1.25: 0.75 * src[1] + 0.25 * src[2] (row 1 -> y 0.25... use row centre).
    const src = (x: number, y: number) => clip.data[(y * 4 + x) * 3]!;
    const expected =
      0.75 * (0.75 * src(1, 1) + 0.25 * src(2, 1)) + 0.25 * (0.75 * src(1, 2) + 0.25 * src(2, 2));
    expect(up.data[(3 * 8 + 3) * 3]!).toBeCloseTo(expected, 6);
  });
});
