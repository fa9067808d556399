/**
 * Box-filter integrals of periodic patterns, so patterns finer than a pixel are anti-aliased
 * exactly instead of point-sampled (point sampling would alias them into moire).
 */

/**
 * Mean over [a, b] (a < b) of the square wave that is 0 on the first half of each period
 * [kP, kP + P/2) and 1 on the second half.
 */
export function squareWaveMean(a: number, b: number, period: number): number {
  return (squareWaveIntegral(b, period) - squareWaveIntegral(a, period)) / (b - a);
}

/** Integral of that square wave from 0 to u (u may be negative). */
export function squareWaveIntegral(u: number, period: number): number {
  const k = Math.floor(u / period);
  const rest = u - k * period - 0.5 * period;
  return period * 0.5 * k + Math.max(rest, 0);
}

/**
 * A periodic piecewise-constant RGB profile: `ends[i]` is the end of segment i within one
 * period (the last end is the period), `values` holds its RGB values, 3 per segment.
 */
export interface PeriodicProfile {
  readonly ends: readonly number[];
  readonly values: readonly number[];
}

/** Mean RGB of the profile over [a, b] (a < b), written to out[offset..offset + 2]. */
export function profileMean(
  profile: PeriodicProfile,
  a: number,
  b: number,
  out: Float32Array,
  offset: number,
): void {
  const inv = 1 / (b - a);
  for (let c = 0; c < 3; c++) {
    out[offset + c] = (profileIntegral(profile, b, c) - profileIntegral(profile, a, c)) * inv;
  }
}

function profileIntegral(profile: PeriodicProfile, u: number, channel: number): number {
  const { ends, values } = profile;
  const period = ends[ends.length - 1]!;
  const k = Math.floor(u / period);
  const rest = u - k * period;
  let total = 0;
  let partial = 0;
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!;
    const v = values[3 * i + channel]!;
    total += (end - start) * v;
    if (rest > start) partial += (Math.min(rest, end) - start) * v;
    start = end;
  }
  return k * total + partial;
}
