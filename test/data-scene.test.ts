import { describe, expect, it } from 'vitest';
import { fold, objectCentre } from '../data/object-centre.js';
import {
  backgroundTones,
  COLOUR_NAMES,
  colourDistance,
  MIN_OBJECT_BACKGROUND_DISTANCE,
  objectColoursFor,
  PALETTE,
} from '../data/palette.js';
import { parsePrompt } from '../data/parse-prompt.js';
import { sameConstraints, sceneConstraints } from '../data/prompt-constraints.js';
import { MAX_OBJECT_SIZE, MIN_SHRUNK_SIZE, OBJECT_GAP, sampleScene } from '../data/sample-scene.js';
import { SHAPE_KINDS } from '../data/scene.js';
import { shapeDistance, shapeExtent } from '../data/shape-distance.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

describe('sampleScene', () => {
  it('is a pure function of the seed', () => {
    expect(JSON.stringify(sampleScene(42))).toBe(JSON.stringify(sampleScene(42)));
    expect(JSON.stringify(sampleScene('clip-7'))).toBe(JSON.stringify(sampleScene(new Rng('clip-7'))));
    expect(JSON.stringify(sampleScene(42))).not.toBe(JSON.stringify(sampleScene(43)));
  });

  it('keeps 1..4 objects inside the frame, apart, visible and coloured unlike the background', () => {
    const counts = new Set<number>();
    const problems: string[] = [];
    for (let seed = 0; seed < 300; seed++) {
      const scene = sampleScene(seed, { frames: 16 });
      counts.add(scene.objects.length);
      const allowed = objectColoursFor(scene.background.colour);
      for (const o of scene.objects) {
        if (!allowed.includes(o.colour))
          problems.push(`seed ${seed}: ${o.colour} on ${scene.background.colour}`);
        // Shrinking below the minimum is a rare fallback, floored at MIN_SHRUNK_SIZE.
        if (o.size < MIN_SHRUNK_SIZE || o.size > MAX_OBJECT_SIZE[0])
          problems.push(`seed ${seed}: size ${o.size}`);
      }
      for (let t = 0; t < 16; t++) {
        const boxes = scene.objects.map((o) => {
          const c = objectCentre(o, t, scene.aspect);
          const [ex, ey] = shapeExtent(o.shape);
          return {
            x0: c.x - ex * o.size,
            x1: c.x + ex * o.size,
            y0: c.y - ey * o.size,
            y1: c.y + ey * o.size,
          };
        });
        for (const b of boxes) {
          if (b.x0 < -1e-9 || b.y0 < -1e-9 || b.x1 > 1 + 1e-9 || b.y1 > 1 + 1e-9)
            problems.push(`seed ${seed} t ${t}: outside`);
        }
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]!;
            const b = boxes[j]!;
            const gap = Math.max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1);
            if (gap < OBJECT_GAP - 1e-9)
              problems.push(`seed ${seed} t ${t}: objects ${i} and ${j} ${gap} apart`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect([...counts].sort()).toEqual([1, 2, 3, 4]);
  });

  it('honours prompt constraints', () => {
    const constraints = parsePrompt('two red circles and a blue square on a striped green background');
    for (let seed = 0; seed < 20; seed++) {
      const scene = sampleScene(seed, { constraints });
      expect(sameConstraints(sceneConstraints(scene), constraints)).toBe(true);
      expect(scene.background.cell).toBeGreaterThan(0);
    }
  });

  it('validates its options', () => {
    let error: unknown;
    try {
      sampleScene(1, { minObjects: 3, maxObjects: 2 });
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
  });
});

describe('palette', () => {
  it('leaves at least four object colours on every background, all far from both tones', () => {
    for (const bg of COLOUR_NAMES) {
      const allowed = objectColoursFor(bg);
      expect(allowed.length).toBeGreaterThanOrEqual(4);
      for (const c of allowed) {
        for (const tone of backgroundTones(bg))
          expect(colourDistance(PALETTE[c], tone)).toBeGreaterThanOrEqual(MIN_OBJECT_BACKGROUND_DISTANCE);
      }
    }
  });
});

describe('motion', () => {
  it('folds positions back and forth between the walls', () => {
    expect(fold(0.5, 0.2, 0.8)).toBeCloseTo(0.5);
    expect(fold(0.9, 0.2, 0.8)).toBeCloseTo(0.7);
    expect(fold(1.5, 0.2, 0.8)).toBeCloseTo(0.3);
    expect(fold(-0.1, 0.2, 0.8)).toBeCloseTo(0.5);
  });

  it('moves continuously: at most |v| per frame', () => {
    const scene = sampleScene(5);
    for (const o of scene.objects) {
      const speed = Math.hypot(o.vx, o.vy);
      for (let t = 0; t < 40; t++) {
        const a = objectCentre(o, t, 1);
        const b = objectCentre(o, t + 1, 1);
        expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeLessThanOrEqual(speed + 1e-12);
      }
    }
  });
});

describe('shapeDistance', () => {
  it('is negative inside, positive outside and tight to the bounding box', () => {
    for (const shape of SHAPE_KINDS) {
      const [ex, ey] = shapeExtent(shape);
      const r = 1;
      expect(shapeDistance(shape, 0, shape === 'ring' ? -0.775 : 0, r)).toBeLessThan(0);
      expect(shapeDistance(shape, 1.5, 1.5, r)).toBeGreaterThan(0);
      // The extreme points of the shape touch the box: scan a fine grid for the extent.
      let maxX = 0;
      let maxY = 0;
      for (let y = -1.2; y <= 1.2; y += 0.004) {
        for (let x = -1.2; x <= 1.2; x += 0.02) {
          if (shapeDistance(shape, x, y, r) <= 0) {
            maxX = Math.max(maxX, Math.abs(x));
            maxY = Math.max(maxY, Math.abs(y));
          }
        }
      }
      expect(maxY).toBeCloseTo(ey, 1);
      expect(maxX).toBeLessThanOrEqual(ex + 0.01);
      expect(maxX).toBeGreaterThan(ex - 0.05);
    }
  });

  it('is 1-Lipschitz (the renderer skips supersampling on that basis)', () => {
    const rng = new Rng(3);
    for (const shape of SHAPE_KINDS) {
      for (let k = 0; k < 2000; k++) {
        const x = rng.uniform(-1.3, 1.3);
        const y = rng.uniform(-1.3, 1.3);
        const dx = rng.uniform(-0.05, 0.05);
        const dy = rng.uniform(-0.05, 0.05);
        const a = shapeDistance(shape, x, y, 1);
        const b = shapeDistance(shape, x + dx, y + dy, 1);
        if (a > 0.1 && b > 0.1) continue; // far points only need to stay positive
        expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.hypot(dx, dy) + 1e-9);
      }
    }
  });
});
