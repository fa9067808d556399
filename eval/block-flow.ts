/**
 * Classical optical flow by hierarchical block matching on luma planes [h, w].
 *
 * The search range is deliberately bounded to plausible frame-to-frame motion: the pyramid
 * stops at about 32 px, so the range is +-2 px at 32 rows, +-5 at 64, +-11 at 128 (2 to 3 d0
 * pixels; the shapes domain moves at most 0.8 d0 px per frame). A jump beyond that (shuffled
 * or unrelated frames) is not explained away as motion and shows up as warping error.
 *
 * flow(from, to) returns per-pixel (u, v) in pixels with to(x) ~ from(x + (u, v)): for each
 * block of `to`, the displacement into `from` of the best match. The pyramid halves the planes
 * (2x2 means) down to about 32 px; the coarsest level searches +-`radius` exhaustively, every
 * finer level doubles the vectors and refines by +-1, and the finest level adds a sub-pixel
 * Lucas-Kanade step. The cost of a
 * candidate is the mean |difference| over a window twice the block size centred on the block,
 * plus a small penalty per pixel of displacement, so flat regions prefer zero motion.
 */
export interface Flow {
  readonly height: number;
  readonly width: number;
  /** Per pixel, row-major [h, w]. */
  readonly u: Float32Array;
  readonly v: Float32Array;
}

export interface BlockFlowOptions {
  /** Block side in pixels at every level (default 4). */
  readonly block?: number;
  /** Exhaustive search radius at the coarsest level, pixels (default 2). */
  readonly radius?: number;
  /** Cost per pixel of displacement (luma units; default 0.002). */
  readonly motionPenalty?: number;
}

interface Plane {
  readonly h: number;
  readonly w: number;
  readonly data: Float32Array;
}

export function blockFlow(
  from: Float32Array,
  to: Float32Array,
  height: number,
  width: number,
  options: BlockFlowOptions = {},
): Flow {
  const block = options.block ?? 4;
  const radius = options.radius ?? 2;
  const penalty = options.motionPenalty ?? 0.002;
  const a = pyramid({ h: height, w: width, data: from });
  const b = pyramid({ h: height, w: width, data: to });
  const levels = a.length;
  let bu = new Float32Array(0);
  let bv = new Float32Array(0);
  let prevBx = 0;
  let prevBy = 0;
  for (let l = levels - 1; l >= 0; l--) {
    const pa = a[l]!;
    const pb = b[l]!;
    const by = Math.ceil(pb.h / block);
    const bx = Math.ceil(pb.w / block);
    const nu = new Float32Array(by * bx);
    const nv = new Float32Array(by * bx);
    const coarsest = l === levels - 1;
    const finest = l === 0;
    for (let j = 0; j < by; j++) {
      for (let i = 0; i < bx; i++) {
        let gu = 0;
        let gv = 0;
        if (!coarsest) {
          // Block centre at this level -> the coarser block holding it.
          const cj = Math.min(prevBy - 1, Math.floor(((j + 0.5) * block) / 2 / block));
          const ci = Math.min(prevBx - 1, Math.floor(((i + 0.5) * block) / 2 / block));
          gu = 2 * Math.round(bu[cj * prevBx + ci]!);
          gv = 2 * Math.round(bv[cj * prevBx + ci]!);
        }
        const r = coarsest ? radius : 1;
        const cx = i * block + block / 2;
        const cy = j * block + block / 2;
        let best = Number.POSITIVE_INFINITY;
        let bestU = gu;
        let bestV = gv;
        for (let dv = gv - r; dv <= gv + r; dv++) {
          for (let du = gu - r; du <= gu + r; du++) {
            const c = windowCost(pa, pb, cx, cy, block, du, dv) + penalty * (Math.abs(du) + Math.abs(dv));
            if (c < best) {
              best = c;
              bestU = du;
              bestV = dv;
            }
          }
        }
        let fu = bestU;
        let fv = bestV;
        if (finest) {
          const [su, sv] = lucasKanadeStep(pa, pb, cx, cy, block, bestU, bestV);
          fu += su;
          fv += sv;
        }
        nu[j * bx + i] = fu;
        nv[j * bx + i] = fv;
      }
    }
    bu = nu;
    bv = nv;
    prevBx = bx;
    prevBy = by;
  }
  const u = new Float32Array(height * width);
  const v = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const j = Math.floor(y / block);
    for (let x = 0; x < width; x++) {
      const k = j * prevBx + Math.floor(x / block);
      u[y * width + x] = bu[k]!;
      v[y * width + x] = bv[k]!;
    }
  }
  return { height, width, u, v };
}

/**
 * One Lucas-Kanade step around the integer match d: linearising a(x + d + s) ~ a(x + d) +
 * grad a . s over the window, s solves [sum gx^2, sum gx gy; sum gx gy, sum gy^2] s =
 * sum (b - a(x + d)) grad a. An exact match gives s = 0; an ill-conditioned window (flat, or
 * an edge in one direction only) gives 0 along the unconstrained direction. Clipped to +-1 px.
 */
function lucasKanadeStep(
  a: Plane,
  b: Plane,
  cx: number,
  cy: number,
  block: number,
  du: number,
  dv: number,
): [number, number] {
  const y0 = Math.max(0, Math.round(cy - block));
  const y1 = Math.min(b.h, Math.round(cy + block));
  const x0 = Math.max(0, Math.round(cx - block));
  const x1 = Math.min(b.w, Math.round(cx + block));
  let gxx = 0;
  let gxy = 0;
  let gyy = 0;
  let ex = 0;
  let ey = 0;
  for (let y = y0; y < y1; y++) {
    const sy = clampInt(y + dv, a.h);
    const up = clampInt(sy - 1, a.h) * a.w;
    const down = clampInt(sy + 1, a.h) * a.w;
    const row = sy * a.w;
    for (let x = x0; x < x1; x++) {
      const sx = clampInt(x + du, a.w);
      const gx = 0.5 * (a.data[row + clampInt(sx + 1, a.w)]! - a.data[row + clampInt(sx - 1, a.w)]!);
      const gy = 0.5 * (a.data[down + sx]! - a.data[up + sx]!);
      const it = b.data[y * b.w + x]! - a.data[row + sx]!;
      gxx += gx * gx;
      gxy += gx * gy;
      gyy += gy * gy;
      ex += it * gx;
      ey += it * gy;
    }
  }
  // Solve in the eigenbasis of G so a rank-1 window (a straight edge) still moves along its normal.
  const tr = gxx + gyy;
  const det = gxx * gyy - gxy * gxy;
  const disc = Math.sqrt(Math.max(0, (tr * tr) / 4 - det));
  const l1 = tr / 2 + disc;
  const l2 = tr / 2 - disc;
  const floor = 1e-4 * Math.max(tr, 1e-12);
  let e1x = 1;
  let e1y = 0;
  if (Math.abs(gxy) > 1e-15) {
    e1x = l1 - gyy;
    e1y = gxy;
    const n = Math.hypot(e1x, e1y);
    e1x /= n;
    e1y /= n;
  } else if (gyy > gxx) {
    e1x = 0;
    e1y = 1;
  }
  const e2x = -e1y;
  const e2y = e1x;
  const p1 = l1 > floor && tr > 1e-8 ? (ex * e1x + ey * e1y) / l1 : 0;
  const p2 = l2 > floor && tr > 1e-8 ? (ex * e2x + ey * e2y) / l2 : 0;
  const su = p1 * e1x + p2 * e2x;
  const sv = p1 * e1y + p2 * e2y;
  return [clip1(su), clip1(sv)];
}

function clip1(v: number): number {
  return Math.min(1, Math.max(-1, v));
}

/**
 * Mean |b(x) - a(x + d)| over the window of side 2 * block centred at (cx, cy) in b; pixels
 * whose source falls outside a are clamped to its border.
 */
function windowCost(
  a: Plane,
  b: Plane,
  cx: number,
  cy: number,
  block: number,
  du: number,
  dv: number,
): number {
  const half = block;
  const y0 = Math.max(0, Math.round(cy - half));
  const y1 = Math.min(b.h, Math.round(cy + half));
  const x0 = Math.max(0, Math.round(cx - half));
  const x1 = Math.min(b.w, Math.round(cx + half));
  let s = 0;
  for (let y = y0; y < y1; y++) {
    const sy = clampInt(y + dv, a.h);
    const rb = y * b.w;
    const ra = sy * a.w;
    for (let x = x0; x < x1; x++) s += Math.abs(b.data[rb + x]! - a.data[ra + clampInt(x + du, a.w)]!);
  }
  return s / ((y1 - y0) * (x1 - x0));
}

function clampInt(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Levels [full, half, quarter, ...] while the smaller side stays >= 32 px. */
function pyramid(base: Plane): Plane[] {
  const levels = [base];
  let p = base;
  while (Math.min(p.h, p.w) >= 64) {
    const h = p.h >> 1;
    const w = p.w >> 1;
    const data = new Float32Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = 2 * y * p.w + 2 * x;
        data[y * w + x] = 0.25 * (p.data[i]! + p.data[i + 1]! + p.data[i + p.w]! + p.data[i + p.w + 1]!);
      }
    }
    p = { h, w, data };
    levels.push(p);
  }
  return levels;
}

/** Bilinear sample of a [h, w, c] interleaved image at (x, y) in pixel-centre coordinates, channel k. */
export function sampleBilinear(
  img: Float32Array,
  h: number,
  w: number,
  c: number,
  x: number,
  y: number,
  k: number,
): number {
  const fx = Math.min(Math.max(x, 0), w - 1);
  const fy = Math.min(Math.max(y, 0), h - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, w - 1);
  const y1 = Math.min(y0 + 1, h - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const p00 = img[(y0 * w + x0) * c + k]!;
  const p01 = img[(y0 * w + x1) * c + k]!;
  const p10 = img[(y1 * w + x0) * c + k]!;
  const p11 = img[(y1 * w + x1) * c + k]!;
  return (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11);
}
