import { deriveSeed, Rng } from '../util/rng.js';
import { checkFeatureSets, type FeatureSet } from './feature-set.js';
import { type BootstrapOptions, type IntervalEstimate, normalInterval } from './interval-estimate.js';
import { symmetricEigen } from './symmetric-eigen.js';

/** Mean and covariance (divisor n - 1) of a feature set, Float64, covariance row-major [dim, dim]. */
export interface FeatureMoments {
  readonly dim: number;
  readonly mean: Float64Array;
  readonly covariance: Float64Array;
}

/**
 * Moments of the rows of `x`, each row counted `weights[i]` times (bootstrap resamples pass
 * their draw counts; default 1 each).
 */
export function featureMoments(x: FeatureSet, weights?: Uint32Array): FeatureMoments {
  const { count, dim, data } = x;
  let total = 0;
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    total += w;
    for (let j = 0; j < dim; j++) mean[j]! += w * data[i * dim + j]!;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= total;
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    for (let j = 0; j < dim; j++) centred[j] = data[i * dim + j]! - mean[j]!;
    // Lower triangle only; mirrored below.
    for (let a = 0; a < dim; a++) {
      const ca = w * centred[a]!;
      const row = a * dim;
      for (let b = 0; b <= a; b++) covariance[row + b]! += ca * centred[b]!;
    }
  }
  const norm = 1 / Math.max(1, total - 1);
  for (let a = 0; a < dim; a++) {
    for (let b = 0; b <= a; b++) {
      const v = covariance[a * dim + b]! * norm;
      covariance[a * dim + b] = v;
      covariance[b * dim + a] = v;
    }
  }
  return { dim, mean, covariance };
}

/**
 * Frechet distance between Gaussians: |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2).
 * tr sqrt(S1 S2) is the sum of square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2)
 * (similar to S1 S2, symmetric PSD): with S1 = V L V^T, that matrix is similar to
 * M = L^(1/2) (V^T S2 V) L^(1/2). Negative rounding-level eigenvalues are clipped to 0.
 */
export function frechetFromMoments(a: FeatureMoments, b: FeatureMoments): number {
  const d = a.dim;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  let traces = 0;
  for (let j = 0; j < d; j++) traces += a.covariance[j * d + j]! + b.covariance[j * d + j]!;
  const { values, vectors } = symmetricEigen(a.covariance, d);
  const v = vectors!;
  // t = S2 V, then B = V^T t.
  const t = matMul(b.covariance, v, d);
  const vt = transpose(v, d);
  const bm = matMul(vt, t, d);
  const root = Float64Array.from(values, (l) => Math.sqrt(Math.max(0, l)));
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const val = root[i]! * 0.5 * (bm[i * d + j]! + bm[j * d + i]!) * root[j]!;
      m[i * d + j] = val;
      m[j * d + i] = val;
    }
  }
  const mu = symmetricEigen(m, d, { vectors: false }).values;
  let traceRoot = 0;
  for (const x of mu) traceRoot += Math.sqrt(Math.max(0, x));
  return Math.max(0, meanTerm + traces - 2 * traceRoot);
}

/**
 * FD between two feature sets with a bootstrap interval: each replicate resamples both sets
 * with replacement (same sizes) and recomputes FD; the interval is FD +- z * (standard deviation
 * of the replicates), because the replicates themselves sit above FD (see `normalInterval`).
 * Seeded, so reproducible.
 * FD is biased upward for small sets; compare values computed at equal set sizes.
 */
export function frechetDistance(
  x: FeatureSet,
  y: FeatureSet,
  options: BootstrapOptions = {},
): IntervalEstimate {
  checkFeatureSets(x, y, 2, 'Frechet distance');
  const replicates = options.replicates ?? 100;
  const level = options.level ?? 0.95;
  const value = frechetFromMoments(featureMoments(x), featureMoments(y));
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'frechet-bootstrap'));
  const samples: number[] = [];
  for (let r = 0; r < replicates; r++) {
    const wx = resampleCounts(x.count, rng);
    const wy = resampleCounts(y.count, rng);
    samples.push(frechetFromMoments(featureMoments(x, wx), featureMoments(y, wy)));
  }
  return normalInterval(value, samples, level);
}

/** How often each of `n` rows is drawn in n draws with replacement. */
export function resampleCounts(n: number, rng: Rng): Uint32Array {
  const counts = new Uint32Array(n);
  for (let i = 0; i < n; i++) counts[rng.int(n)]! += 1;
  return counts;
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[ri + k]!;
      if (aik === 0) continue;
      const rk = k * n;
      for (let j = 0; j < n; j++) out[ri + j]! += aik * b[rk + j]!;
    }
  }
  return out;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j]!;
  return out;
}
