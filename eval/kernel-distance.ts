import { deriveSeed, Rng } from '../util/rng.js';
import { checkFeatureSets, type FeatureSet } from './feature-set.js';
import { type BootstrapOptions, type IntervalEstimate, percentileInterval } from './interval-estimate.js';

/**
 * Kernel distance (the KID statistic): the unbiased estimate of MMD^2 with the polynomial kernel
 * k(x, y) = (x.y / d + 1)^3,
 *   1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j) - 2/(mn) sum k(x_i, y_j).
 * It is unbiased, so it can be slightly negative when the sets match. Unlike KID we use all
 * samples once (no subsets). The bootstrap resamples indices with replacement and keeps only
 * pairs of distinct original samples (distinct groups, when given) in the within-set sums, so
 * the U-statistic stays unbiased.
 */
export interface KernelDistanceOptions extends BootstrapOptions {
  /**
   * Group of each row (e.g. the clip a patch crop came from), per set. Within-set pairs from
   * one group are left out like i = j pairs: crops of one clip are not independent samples,
   * and their high mutual kernel values would bias KD upward.
   */
  readonly groups?: { readonly x?: Int32Array; readonly y?: Int32Array };
}

export function kernelDistance(
  x: FeatureSet,
  y: FeatureSet,
  options: KernelDistanceOptions = {},
): IntervalEstimate {
  checkFeatureSets(x, y, 2, 'Kernel distance');
  const gx = options.groups?.x ?? identityGroups(x.count);
  const gy = options.groups?.y ?? identityGroups(y.count);
  if (gx.length !== x.count || gy.length !== y.count) {
    throw new RangeError(
      `kernelDistance: groups have ${gx.length}/${gy.length} entries for ${x.count}/${y.count} rows`,
    );
  }
  const replicates = options.replicates ?? 100;
  const level = options.level ?? 0.95;
  const kxx = gram(x, x);
  const kyy = gram(y, y);
  const kxy = gram(x, y);
  const m = x.count;
  const n = y.count;
  const all = (k: number): Int32Array => Int32Array.from({ length: k }, (_, i) => i);
  const value = mmd(kxx, kyy, kxy, m, n, all(m), all(n), gx, gy);
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'kernel-bootstrap'));
  const samples: number[] = [];
  for (let r = 0; r < replicates; r++) {
    const ix = Int32Array.from({ length: m }, () => rng.int(m));
    const iy = Int32Array.from({ length: n }, () => rng.int(n));
    samples.push(mmd(kxx, kyy, kxy, m, n, ix, iy, gx, gy));
  }
  return percentileInterval(value, samples, level);
}

function identityGroups(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Polynomial-kernel Gram matrix [a.count, b.count], Float64. */
function gram(a: FeatureSet, b: FeatureSet): Float64Array {
  const d = a.dim;
  const out = new Float64Array(a.count * b.count);
  for (let i = 0; i < a.count; i++) {
    const ri = i * d;
    for (let j = 0; j < b.count; j++) {
      const rj = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += a.data[ri + k]! * b.data[rj + k]!;
      const base = s / d + 1;
      out[i * b.count + j] = base * base * base;
    }
  }
  return out;
}

function mmd(
  kxx: Float64Array,
  kyy: Float64Array,
  kxy: Float64Array,
  m: number,
  n: number,
  ix: Int32Array,
  iy: Int32Array,
  gx: Int32Array,
  gy: Int32Array,
): number {
  const within = (k: Float64Array, size: number, idx: Int32Array, group: Int32Array): number => {
    let s = 0;
    let pairs = 0;
    for (let a = 0; a < idx.length; a++) {
      const row = idx[a]! * size;
      const ga = group[idx[a]!];
      for (let b = 0; b < idx.length; b++) {
        if (group[idx[b]!] === ga) continue;
        s += k[row + idx[b]!]!;
        pairs++;
      }
    }
    return pairs === 0 ? 0 : s / pairs;
  };
  let cross = 0;
  for (let a = 0; a < ix.length; a++) {
    const row = ix[a]! * n;
    for (let b = 0; b < iy.length; b++) cross += kxy[row + iy[b]!]!;
  }
  cross /= ix.length * iy.length;
  return within(kxx, m, ix, gx) + within(kyy, n, iy, gy) - 2 * cross;
}
