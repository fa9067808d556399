import { describe, expect, it } from 'vitest';
import { colourDistance, PALETTE, patternTone, type Rgb } from '../data/palette.js';
import { renderScene } from '../data/render-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import { OUTLINE_WIDTH } from '../data/scene.js';
import { sceneGroundTruth } from '../data/scene-ground-truth.js';
import { shapeDistance } from '../data/shape-distance.js';

const SIZE = 64;
const FRAMES = 6;
const HALF_DIAGONAL = Math.SQRT1_2 / SIZE;

function distanceToSegment(p: Rgb, a: Rgb, b: Rgb): number {
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
  const len2 = ab[0]! ** 2 + ab[1]! ** 2 + ab[2]! ** 2;
  const t = Math.min(1, Math.max(0, (ap[0]! * ab[0]! + ap[1]! * ab[1]! + ap[2]! * ab[2]!) / len2));
  return colourDistance(p, [a[0] + t * ab[0]!, a[1] + t * ab[1]!, a[2] + t * ab[2]!]);
}

describe('sceneGroundTruth', () => {
  it('lists every object per frame with its shape, colour and the background', () => {
    const scene = sampleScene(11);
    const truth = sceneGroundTruth(scene, { height: SIZE, width: SIZE, frames: FRAMES });
    expect(truth.perFrame).toHaveLength(FRAMES);
    expect(truth.objectCount).toBe(scene.objects.length);
    expect(truth.background).toMatchObject({ kind: scene.background.kind, colour: scene.background.colour });
    for (const f of truth.perFrame) {
      expect(f.objects.map((o) => [o.shape, o.colour])).toEqual(
        scene.objects.map((o) => [o.shape, o.colour]),
      );
    }
  });

  it('has boxes that match the rendered pixels', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const scene = sampleScene(seed);
      const clip = renderScene(scene, { height: SIZE, width: SIZE, frames: FRAMES });
      const truth = sceneGroundTruth(scene, { height: SIZE, width: SIZE, frames: FRAMES, masks: true });
      for (const frame of truth.perFrame) {
        const pixel = (x: number, y: number): Rgb => {
          const o = ((frame.frame * SIZE + y) * SIZE + x) * 3;
          return [clip.data[o]!, clip.data[o + 1]!, clip.data[o + 2]!];
        };
        // Pixels outside every box (with a 1-pixel margin for anti-aliasing).
        const outside: number[] = [];
        for (let y = 0; y < SIZE; y++) {
          for (let x = 0; x < SIZE; x++) {
            const inAnyBox = frame.objects.some(
              (o) =>
                x >= o.box.left - 1 && x <= o.box.right + 1 && y >= o.box.top - 1 && y <= o.box.bottom + 1,
            );
            if (!inAnyBox) outside.push(x, y);
          }
        }
        for (const obj of frame.objects) {
          const { box, mask } = obj;
          expect(box.x1 - box.x0).toBeGreaterThan(5);
          expect(box.left).toBeLessThanOrEqual(box.right);
          // Pixels whose centre lies deeper inside the shape than the outline plus half a pixel
          // diagonal are pure fill: a mix of the object's base colour and its pattern tone only.
          const object = scene.objects[obj.index]!;
          const base = PALETTE[obj.colour];
          const tone = patternTone(obj.colour);
          let fill = 0;
          let worst = 0;
          for (let y = box.top; y <= box.bottom; y++) {
            for (let x = box.left; x <= box.right; x++) {
              const d = shapeDistance(
                obj.shape,
                (x + 0.5 - obj.centre.x) / SIZE,
                (y + 0.5 - obj.centre.y) / SIZE,
                object.size,
              );
              if (d >= -(OUTLINE_WIDTH + HALF_DIAGONAL)) continue;
              fill++;
              worst = Math.max(worst, distanceToSegment(pixel(x, y), base, tone));
            }
          }
          expect(fill).toBeGreaterThan(4);
          expect(worst).toBeLessThan(0.01);
          // Outside every box no pixel has the object's base colour.
          let nearest = Number.POSITIVE_INFINITY;
          for (let k = 0; k < outside.length; k += 2) {
            nearest = Math.min(
              nearest,
              colourDistance(pixel(outside[k]!, outside[k + 1]!), PALETTE[obj.colour]),
            );
          }
          expect(nearest).toBeGreaterThan(0.15);
          // The exact box hugs the shape: the mask reaches all four sides of the integer box
          // (within two pixels: pixel centres vs continuous bounds, and pointed tips are thin).
          let minX = SIZE;
          let maxX = -1;
          let minY = SIZE;
          let maxY = -1;
          for (let y = 0; y < SIZE; y++) {
            for (let x = 0; x < SIZE; x++) {
              if (!mask?.[y * SIZE + x]) continue;
              minX = Math.min(minX, x);
              maxX = Math.max(maxX, x);
              minY = Math.min(minY, y);
              maxY = Math.max(maxY, y);
            }
          }
          expect(Math.abs(minX - box.left)).toBeLessThanOrEqual(2);
          expect(Math.abs(maxX - box.right)).toBeLessThanOrEqual(2);
          expect(Math.abs(minY - box.top)).toBeLessThanOrEqual(2);
          expect(Math.abs(maxY - box.bottom)).toBeLessThanOrEqual(2);
        }
      }
    }
  });
});
