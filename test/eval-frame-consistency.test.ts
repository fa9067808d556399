import { describe, expect, it } from 'vitest';
import { type Clip, createClip } from '../data/clip.js';
import { renderScene } from '../data/render-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import type { Scene } from '../data/scene.js';
import { flickerColours } from '../eval/corrupt-clip.js';
import {
  checkFrameConsistency,
  DEFAULT_FRAME_CHECK_THRESHOLDS,
  type FrameCheck,
  frameCheckThresholdsSchema,
} from '../eval/frame-consistency.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

/** A scene with two moving objects on a striped background (every frame differs). */
const SCENE: Scene = {
  version: 1,
  aspect: 1,
  background: { kind: 'stripes', colour: 'blue', orientation: 'horizontal', cell: 0.1, phase: 0.02 },
  objects: [
    {
      shape: 'circle',
      colour: 'yellow',
      size: 0.15,
      x: 0.3,
      y: 0.35,
      vx: 0.02,
      vy: 0.012,
      pattern: 'plain',
      patternPhase: 0,
    },
    {
      shape: 'square',
      colour: 'red',
      size: 0.12,
      x: 0.7,
      y: 0.72,
      vx: -0.015,
      vy: 0.01,
      pattern: 'hstripes',
      patternPhase: 0,
    },
  ],
};

const OTHER: Scene = {
  version: 1,
  aspect: 1,
  background: { kind: 'checker', colour: 'green', cell: 0.09, phase: 0 },
  objects: [
    {
      shape: 'star',
      colour: 'purple',
      size: 0.2,
      x: 0.5,
      y: 0.5,
      vx: 0.01,
      vy: 0,
      pattern: 'plain',
      patternPhase: 0,
    },
  ],
};

function render(scene: Scene, size: number, frames = 16): Clip {
  return renderScene(scene, { height: size, width: size, frames });
}

function copyClip(c: Clip): Clip {
  return createClip(c.frames, c.height, c.width, c.data.slice());
}

function frameView(c: Clip, t: number): Float32Array {
  const n = c.height * c.width * 3;
  return c.data.subarray(t * n, (t + 1) * n);
}

function check(result: ReturnType<typeof checkFrameConsistency>, name: FrameCheck['name']): FrameCheck {
  const found = result.checks.find((c) => c.name === name);
  if (!found) throw new Error(`check ${name} missing`);
  return found;
}

describe('checkFrameConsistency', () => {
  it('passes good rendered clips at 32 and 128 px, with a ground-truth pivot', () => {
    for (const size of [32, 128]) {
      const result = checkFrameConsistency(render(SCENE, size));
      expect(result.passed, JSON.stringify(result.checks)).toBe(true);
      expect(result.checks.map((c) => c.name)).toEqual([
        'flicker',
        'colour',
        'similarity',
        'frozen',
        'black',
      ]);
    }
    const withPivot = checkFrameConsistency(render(SCENE, 128), {}, { pivot: render(SCENE, 64) });
    expect(withPivot.passed).toBe(true);
    expect(check(withPivot, 'seam').value).toBeLessThan(0.5);
  });

  it('passes 300 random rendered clips and fails each of them with per-frame colour flicker', () => {
    for (let seed = 0; seed < 300; seed++) {
      const clip = render(sampleScene(seed), 32);
      const real = check(checkFrameConsistency(clip), 'colour');
      expect(real.passed, `scene ${seed}: ${real.value}`).toBe(true);
      if (seed % 10 !== 0) continue;
      // Every frame jumps, so the median-relative flicker check cannot see it; the colour check does.
      const flickering = checkFrameConsistency(flickerColours(clip, seed, 0.05));
      expect(check(flickering, 'colour').passed).toBe(false);
      expect(check(flickering, 'colour').frames.length).toBeGreaterThan(5);
    }
  });

  it('flags a black frame by number', () => {
    const clip = copyClip(render(SCENE, 64));
    frameView(clip, 5).fill(0);
    const result = checkFrameConsistency(clip);
    expect(result.passed).toBe(false);
    const black = check(result, 'black');
    expect(black.passed).toBe(false);
    expect(black.frames).toEqual([5]);
    expect(black.value).toBe(0);
    expect(black.threshold).toBe(DEFAULT_FRAME_CHECK_THRESHOLDS.blackLuma);
  });

  it('flags a frozen run of frames but not a shorter one', () => {
    const clip = copyClip(render(SCENE, 64));
    for (const t of [4, 5, 6]) frameView(clip, t).set(frameView(clip, 3));
    const frozen = check(checkFrameConsistency(clip), 'frozen');
    expect(frozen.passed).toBe(false);
    expect(frozen.frames).toEqual([3, 4, 5, 6]);
    expect(frozen.value).toBe(4);
    // Two identical frames are a run of 2 < 3: allowed by default, caught with frozenRun 2.
    const pair = copyClip(render(SCENE, 64));
    frameView(pair, 9).set(frameView(pair, 8));
    expect(check(checkFrameConsistency(pair), 'frozen').passed).toBe(true);
    expect(check(checkFrameConsistency(pair, { frozenRun: 2 }), 'frozen').frames).toEqual([8, 9]);
  });

  it('flags a flicker frame (a brightness jump) at the pairs around it', () => {
    const clip = copyClip(render(SCENE, 64));
    const f = frameView(clip, 8);
    for (let i = 0; i < f.length; i++) f[i] = Math.min(1, f[i]! + 0.25);
    const result = checkFrameConsistency(clip);
    const flicker = check(result, 'flicker');
    expect(flicker.passed).toBe(false);
    expect(flicker.frames).toEqual([8, 9]);
    expect(flicker.value).toBeGreaterThan(DEFAULT_FRAME_CHECK_THRESHOLDS.flickerRatio);
    expect(check(result, 'black').passed).toBe(true);
  });

  it('flags an unrelated frame (noise) through low similarity', () => {
    const clip = copyClip(render(SCENE, 128));
    const rng = new Rng(3);
    const f = frameView(clip, 10);
    for (let i = 0; i < f.length; i++) f[i] = rng.next();
    const similarity = check(checkFrameConsistency(clip), 'similarity');
    expect(similarity.passed).toBe(false);
    expect(similarity.frames).toEqual([10, 11]);
    expect(similarity.value).toBeLessThan(0.2);
  });

  it('flags a stage output that departs from its pivot (seam)', () => {
    const output = render(SCENE, 128);
    const seam = check(checkFrameConsistency(output, {}, { pivot: render(OTHER, 64) }), 'seam');
    expect(seam.passed).toBe(false);
    expect(seam.frames).toHaveLength(16);
    expect(() => checkFrameConsistency(output, {}, { pivot: render(SCENE, 64, 8) })).toThrow(
      /pivot has 8 frames/,
    );
  });

  it('validates and applies threshold overrides and skips', () => {
    expect(frameCheckThresholdsSchema.parse({ blackLuma: 0.1 }).flickerRatio).toBe(4);
    const clip = render(SCENE, 32);
    const skipped = checkFrameConsistency(clip, { skip: ['similarity', 'black'] });
    expect(skipped.checks.map((c) => c.name)).toEqual(['flicker', 'colour', 'frozen']);
    // A mean-luma floor above the clip's brightness fails every frame.
    const strict = check(checkFrameConsistency(clip, { blackLuma: 0.99 }), 'black');
    expect(strict.frames).toHaveLength(16);
    try {
      checkFrameConsistency(clip, { flickerRatio: 0.5 });
      expect.unreachable();
    } catch (error) {
      expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
      expect((error as Error).message).toContain('flickerRatio');
    }
    expect(() => checkFrameConsistency(clip, { nope: 1 } as never)).toThrow();
  });
});
