import type { SceneObject } from './scene.js';
import { shapeExtent } from './shape-distance.js';

/**
 * Centre of `object` at time `t` (frames), frame heights. Motion is linear with elastic bounces
 * off the walls, in closed form: the unbounded position is folded into the range the centre
 * may take while the whole shape stays inside the frame. So any frame is computed directly,
 * for any frame count, with no simulation state.
 */
export function objectCentre(object: SceneObject, t: number, aspect: number): { x: number; y: number } {
  const [ex, ey] = shapeExtent(object.shape);
  const hx = ex * object.size;
  const hy = ey * object.size;
  return {
    x: fold(object.x + object.vx * t, hx, aspect - hx),
    y: fold(object.y + object.vy * t, hy, 1 - hy),
  };
}

/** Reflects `p` into [lo, hi] (a triangle wave of period 2 (hi - lo)). */
export function fold(p: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return (lo + hi) / 2;
  const period = 2 * span;
  let u = (p - lo) % period;
  if (u < 0) u += period;
  return lo + (u <= span ? u : period - u);
}
