import { describe, expect, it } from 'vitest';
import { type FeatureSet, featureSet } from '../eval/feature-set.js';
import { featureMoments, frechetDistance, frechetFromMoments } from '../eval/frechet-distance.js';
import { normalQuantile, percentileInterval } from '../eval/interval-estimate.js';
import { kernelDistance } from '../eval/kernel-distance.js';
import { symmetricEigen } from '../eval/symmetric-eigen.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

function gaussianSet(seed: number, count: number, dim: number, shift = 0, scale = 1): FeatureSet {
  const rng = new Rng(seed);
  return featureSet(
    count,
    dim,
    Float32Array.from({ length: count * dim }, () => shift + scale * rng.normal()),
  );
}

describe('symmetricEigen', () => {
  it('reconstructs random symmetric matrices with orthonormal vectors', () => {
    for (const n of [1, 2, 5, 40]) {
      const rng = new Rng(n);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          const v = rng.normal();
          a[i * n + j] = v;
          a[j * n + i] = v;
        }
      }
      const { values, vectors } = symmetricEigen(a, n);
      for (let i = 1; i < n; i++) expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]!);
      let recon = 0;
      let orth = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          let o = 0;
          for (let k = 0; k < n; k++) {
            s += vectors![i * n + k]! * values[k]! * vectors![j * n + k]!;
            o += vectors![k * n + i]! * vectors![k * n + j]!;
          }
          recon = Math.max(recon, Math.abs(s - a[i * n + j]!));
          orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
        }
      }
      expect(recon).toBeLessThan(1e-10);
      expect(orth).toBeLessThan(1e-10);
      const only = symmetricEigen(a, n, { vectors: false });
      expect(only.vectors).toBeUndefined();
      for (let i = 0; i < n; i++) expect(only.values[i]).toBeCloseTo(values[i]!, 10);
    }
  });

  it('handles a rank-deficient covariance', () => {
    // Rank 1: v v^T has eigenvalues 0, 0, |v|^2.
    const v = [1, 2, 2];
    const a = Float64Array.from({ length: 9 }, (_, k) => v[Math.floor(k / 3)]! * v[k % 3]!);
    const { values } = symmetricEigen(a, 3);
    expect(values[0]).toBeCloseTo(0, 12);
    expect(values[1]).toBeCloseTo(0, 12);
    expect(values[2]).toBeCloseTo(9, 12);
  });
});

describe('Frechet distance', () => {
  it('matches the closed form for diagonal Gaussians', () => {
    const d = 4;
    const mk = (mean: number[], variances: number[]) => {
      const covariance = new Float64Array(d * d);
      variances.forEach((v, i) => {
        covariance[i * d + i] = v;
      });
      return { dim: d, mean: Float64Array.from(mean), covariance };
    };
    const a = mk([0, 0, 0, 0], [1, 4, 9, 0.25]);
    const b = mk([1, 0, 0, 2], [4, 1, 9, 1]);
    // |mu|^2 = 5, sum (sqrt(s1) - sqrt(s2))^2 = 1 + 1 + 0 + 0.25
    expect(frechetFromMoments(a, b)).toBeCloseTo(7.25, 10);
    expect(frechetFromMoments(a, a)).toBeCloseTo(0, 8);
  });

  it('grows with a mean shift and gives a seeded interval around the estimate', () => {
    const x = gaussianSet(1, 300, 8);
    const same = gaussianSet(2, 300, 8);
    const shifted = gaussianSet(3, 300, 8, 0.5);
    const fdSame = frechetDistance(x, same, { replicates: 30, seed: 4 });
    const fdShift = frechetDistance(x, shifted, { replicates: 30, seed: 4 });
    // A 0.5 shift in 8 dims adds 8 * 0.25 = 2 to the mean term.
    expect(fdShift.value).toBeGreaterThan(fdSame.value + 1.5);
    expect(fdShift.value).toBeCloseTo(2 + fdSame.value, 0);
    expect(fdSame.low).toBeLessThanOrEqual(fdSame.value);
    expect(fdSame.high).toBeGreaterThanOrEqual(fdSame.value);
    expect(fdShift.low).toBeGreaterThan(fdSame.high);
    expect(fdSame.replicates).toBe(30);
    expect(frechetDistance(x, same, { replicates: 30, seed: 4 })).toEqual(fdSame);
  });

  it('weights rows by bootstrap counts', () => {
    const x = featureSet(3, 1, Float32Array.from([0, 1, 5]));
    const m = featureMoments(x, Uint32Array.from([2, 1, 0]));
    expect(m.mean[0]).toBeCloseTo(1 / 3, 10);
    // Values 0, 0, 1: sample variance 1/3.
    expect(m.covariance[0]).toBeCloseTo(1 / 3, 10);
  });

  it('rejects mismatched feature sets', () => {
    try {
      frechetDistance(gaussianSet(1, 10, 4), gaussianSet(1, 10, 5));
      expect.unreachable();
    } catch (error) {
      expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
    }
    expect(() => kernelDistance(gaussianSet(1, 1, 4), gaussianSet(1, 10, 4))).toThrow(/at least 2/);
  });
});

describe('kernel distance', () => {
  it('is near 0 for the same distribution, positive for a shifted one, with intervals', () => {
    const x = gaussianSet(5, 200, 16);
    const same = kernelDistance(x, gaussianSet(6, 200, 16), { replicates: 50, seed: 1 });
    const shifted = kernelDistance(x, gaussianSet(7, 200, 16, 0.3), { replicates: 50, seed: 1 });
    // 16 dims shifted by 0.3: the mean term alone is far above the same-distribution noise.
    expect(Math.abs(same.value)).toBeLessThan(0.1);
    expect(same.low).toBeLessThan(0);
    expect(same.high).toBeGreaterThan(0);
    expect(shifted.value).toBeGreaterThan(5 * Math.abs(same.value));
    expect(shifted.low).toBeGreaterThan(same.high);
    expect(shifted.low).toBeLessThanOrEqual(shifted.value);
    expect(shifted.high).toBeGreaterThanOrEqual(shifted.value);
  });

  it('leaves out within-group pairs (correlated crops of one clip)', () => {
    // 60 rows that are 20 samples, each present 3 times with a little jitter.
    const rng = new Rng(9);
    const base = gaussianSet(10, 20, 8);
    const x = featureSet(
      60,
      8,
      Float32Array.from(
        { length: 480 },
        (_, k) => base.data[Math.floor(k / 24) * 8 + (k % 8)]! + 0.05 * rng.normal(),
      ),
    );
    const y = gaussianSet(11, 60, 8);
    const groups = { x: Int32Array.from({ length: 60 }, (_, i) => Math.floor(i / 3)) };
    const naive = kernelDistance(x, y, { replicates: 0 });
    const grouped = kernelDistance(x, y, { replicates: 20, seed: 1, groups });
    expect(naive.value).toBeGreaterThan(grouped.value + 0.1);
    expect(grouped.low).toBeLessThan(0.1);
    expect(() => kernelDistance(x, y, { groups: { x: new Int32Array(3) } })).toThrow(/groups/);
  });

  it('equals the unbiased MMD^2 formula on a tiny example', () => {
    const x = featureSet(2, 1, Float32Array.from([0, 1]));
    const y = featureSet(2, 1, Float32Array.from([2, 3]));
    const k = (a: number, b: number) => (a * b + 1) ** 3;
    const expected = k(0, 1) + k(2, 3) - (2 / 4) * (k(0, 2) + k(0, 3) + k(1, 2) + k(1, 3));
    expect(kernelDistance(x, y, { replicates: 0 }).value).toBeCloseTo(expected, 8);
  });
});

describe('intervals', () => {
  it('computes percentiles and normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 4);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 6);
    const samples = Array.from({ length: 101 }, (_, i) => i);
    const ci = percentileInterval(50, samples, 0.9);
    expect(ci.low).toBeCloseTo(5, 8);
    expect(ci.high).toBeCloseTo(95, 8);
  });
});
