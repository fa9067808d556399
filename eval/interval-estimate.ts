/** A point estimate with a seeded percentile-bootstrap confidence interval. */
export interface IntervalEstimate {
  readonly value: number;
  /** Lower and upper ends of the interval (equal to `value` when replicates = 0). */
  readonly low: number;
  readonly high: number;
  /** Two-sided coverage of [low, high], e.g. 0.95. */
  readonly level: number;
  /** Bootstrap replicates behind the interval. */
  readonly replicates: number;
}

export interface BootstrapOptions {
  /** Bootstrap replicates; 0 skips the interval. */
  readonly replicates?: number;
  readonly level?: number;
  /** Seed of the resampling (the same seed gives the same interval). */
  readonly seed?: number;
}

/** Percentile interval of `samples` around `value`. */
export function percentileInterval(
  value: number,
  samples: readonly number[],
  level: number,
): IntervalEstimate {
  if (samples.length === 0) return { value, low: value, high: value, level, replicates: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => {
    const pos = p * (sorted.length - 1);
    const i = Math.floor(pos);
    const f = pos - i;
    return sorted[i]! * (1 - f) + sorted[Math.min(i + 1, sorted.length - 1)]! * f;
  };
  const tail = (1 - level) / 2;
  return { value, low: q(tail), high: q(1 - tail), level, replicates: samples.length };
}

/**
 * Normal interval value +- z * SE, with SE the standard deviation of the bootstrap replicates.
 * For statistics whose bootstrap distribution is shifted (FD: resampling with replacement
 * duplicates samples, which inflates the covariance noise and so FD), the percentile interval
 * would not even contain the estimate; the spread is still a fair standard error.
 */
export function normalInterval(value: number, samples: readonly number[], level: number): IntervalEstimate {
  if (samples.length < 2) return { value, low: value, high: value, level, replicates: samples.length };
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  const variance = samples.reduce((s, x) => s + (x - mean) ** 2, 0) / (samples.length - 1);
  const half = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(variance);
  return { value, low: value - half, high: value + half, level, replicates: samples.length };
}

/** Standard normal quantile by bisection on the CDF (erf by Abramowitz-Stegun 7.1.26, |error| < 2e-7). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p = ${p} must be in (0, 1)`);
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
