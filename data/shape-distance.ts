import { SHAPE_KINDS, type ShapeKind } from './scene.js';

/**
 * Signed distance from a point to a shape of half-extent `size` centred at the origin (same
 * length unit as the inputs; negative inside, y pointing down). Exact for circles, rings,
 * stars and inside convex polygons; a lower bound outside polygon corners and inside the
 * cross's concave corners, and outside 1.25x a star's circumradius.
 *
 * This function *defines* the shapes and their outlines (outline = values in (-OUTLINE_WIDTH, 0]),
 * at every resolution alike. The renderer relies on two properties: the sign is exact, and
 * values change by at most the distance moved (1-Lipschitz) except far outside, where they only
 * stay positive. So a pixel whose centre value lies beyond its half-diagonal (plus the outline
 * width, inside) has every sub-sample in the same class and needs no supersampling.
 */
export function shapeDistance(shape: ShapeKind, x: number, y: number, size: number): number {
  return shapeDistanceByCode(SHAPE_KINDS.indexOf(shape), x, y, size);
}

/** Index into SHAPE_KINDS; the renderer switches on it in its hot loop. */
export function shapeCode(shape: ShapeKind): number {
  const code = SHAPE_KINDS.indexOf(shape);
  if (code < 0) throw new RangeError(`unknown shape ${shape}`);
  return code;
}

/** Half extents of the tight bounding box as multiples of `size`: [x, y]. */
export function shapeExtent(shape: ShapeKind): readonly [number, number] {
  return shape === 'star' ? STAR_EXTENT : FULL_EXTENT;
}

const FULL_EXTENT = [1, 1] as const;

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT5 = 1 / Math.sqrt(5);
const RING_MID = 0.775;
const RING_HALF = 0.225;
const CROSS_ARM = 0.34;

/**
 * Five-pointed star, point up, inner radius half the outer one; scaled so its half width is 1
 * and shifted so its bounding box is centred on the origin.
 */
const STAR_VERTICES: Float64Array = (() => {
  const outer = 1 / Math.sin((72 * Math.PI) / 180);
  const inner = outer * 0.5;
  const shift = (outer - outer * Math.cos((36 * Math.PI) / 180)) / 2;
  const v = new Float64Array(20);
  for (let k = 0; k < 10; k++) {
    const radius = k % 2 === 0 ? outer : inner;
    const angle = (k * Math.PI) / 5;
    v[2 * k] = radius * Math.sin(angle);
    v[2 * k + 1] = -radius * Math.cos(angle) + shift;
  }
  return v;
})();

const STAR_OUTER = 1 / Math.sin((72 * Math.PI) / 180);
const STAR_FAR = 1.25 * STAR_OUTER;

const STAR_EXTENT: readonly [number, number] = (() => {
  let maxY = 0;
  for (let k = 1; k < 20; k += 2) maxY = Math.max(maxY, Math.abs(STAR_VERTICES[k]!));
  return [1, maxY] as const;
})();

export function shapeDistanceByCode(code: number, x: number, y: number, r: number): number {
  switch (code) {
    case 0: // circle
      return Math.sqrt(x * x + y * y) - r;
    case 1: // square (Chebyshev: exact inside, underestimate past the corners)
      return Math.max(Math.abs(x), Math.abs(y)) - r;
    case 2: {
      // triangle: apex (0, -r), base y = r from x = -r to r; max of the three half-planes
      const base = y - r;
      const side = (2 * Math.abs(x) - y - r) * INV_SQRT5;
      return Math.max(base, side);
    }
    case 3: // diamond
      return (Math.abs(x) + Math.abs(y) - r) * SQRT1_2;
    case 4: // ring: outer radius r, inner radius 0.55 r
      return Math.abs(Math.sqrt(x * x + y * y) - RING_MID * r) - RING_HALF * r;
    case 5: {
      // cross (plus): union of two boxes
      const ax = Math.abs(x);
      const ay = Math.abs(y);
      const arm = CROSS_ARM * r;
      const a = Math.max(ax - r, ay - arm);
      const b = Math.max(ax - arm, ay - r);
      return Math.min(a, b);
    }
    case 6:
      return starDistance(x / r, y / r) * r;
    default:
      throw new RangeError(`unknown shape code ${code}`);
  }
}

/** Exact polygon distance: nearest edge for the magnitude, crossing parity for the sign. */
function starDistance(x: number, y: number): number {
  // Far outside the circumcircle the circle distance is a cheap lower bound that is still
  // positive, which is all the renderer asks of far points.
  const r2 = x * x + y * y;
  if (r2 > STAR_FAR * STAR_FAR) return Math.sqrt(r2) - STAR_OUTER;
  const v = STAR_VERTICES;
  let best = Number.POSITIVE_INFINITY;
  let inside = false;
  let px = v[18]!;
  let py = v[19]!;
  for (let k = 0; k < 20; k += 2) {
    const qx = v[k]!;
    const qy = v[k + 1]!;
    const ex = qx - px;
    const ey = qy - py;
    const wx = x - px;
    const wy = y - py;
    let t = (wx * ex + wy * ey) / (ex * ex + ey * ey);
    t = t < 0 ? 0 : Math.min(t, 1);
    const dx = wx - ex * t;
    const dy = wy - ey * t;
    const d2 = dx * dx + dy * dy;
    if (d2 < best) best = d2;
    if (py > y !== qy > y && x < px + ((y - py) * ex) / ey) inside = !inside;
    px = qx;
    py = qy;
  }
  const d = Math.sqrt(best);
  return inside ? -d : d;
}
