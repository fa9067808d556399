import { CascadeError } from '../util/cascade-error.js';

/**
 * An exact ratio of positive integers, used for frame rates so that 30000/1001 (NTSC 29.97) is
 * never approximated on the way to ffmpeg or in verification.
 */
export interface Rational {
  readonly num: number;
  readonly den: number;
}

/** Loose frame-rate input: 24, 29.97, "30000/1001", "24" or { num, den }. */
export type RationalInput = number | string | Rational;

/**
 * Turns a loose frame rate into a reduced rational. Decimal values are matched to the nearest
 * fraction with a denominator up to 1001 (so 29.97 becomes 30000/1001 and 23.976 becomes
 * 24000/1001), which is what every broadcast rate is.
 * Throws BAD_ARGUMENT naming `field` for anything that is not a positive finite rate.
 */
export function toRational(value: RationalInput, field = 'fps'): Rational {
  const bad = (why: string): CascadeError =>
    new CascadeError(
      'BAD_ARGUMENT',
      `${field} is ${JSON.stringify(value)}: ${why}. Expected a positive number (24, 29.97) or a ratio "30000/1001".`,
      { path: field },
    );
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+)\s*)?$/.exec(value);
    if (!match) throw bad('not a number or a ratio');
    const top = Number(match[1]);
    const bottom = match[2] === undefined ? 1 : Number(match[2]);
    if (bottom === 0) throw bad('the denominator is 0');
    if (Number.isInteger(top)) return checked(reduce(top, bottom), bad);
    return checked(approximate(top / bottom), bad);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw bad('not a positive finite number');
    return checked(approximate(value), bad);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    Number.isSafeInteger(value.num) &&
    Number.isSafeInteger(value.den) &&
    value.num > 0 &&
    value.den > 0
  ) {
    return reduce(value.num, value.den);
  }
  throw bad('num and den must be positive integers');
}

/** Parses ffprobe's "24/1" / "0/0" notation; null when the rate is unknown (0/0 or N/A). */
export function parseProbeRational(text: string | undefined): Rational | null {
  if (text === undefined) return null;
  const match = /^(\d+)[/:](\d+)$/.exec(text.trim());
  if (!match) return null;
  const num = Number(match[1]);
  const den = Number(match[2]);
  if (num <= 0 || den <= 0) return null;
  return reduce(num, den);
}

export function rationalValue(r: Rational): number {
  return r.num / r.den;
}

/** "30000/1001", the form ffmpeg's -r and -framerate accept. */
export function formatRational(r: Rational): string {
  return `${r.num}/${r.den}`;
}

export function rationalEquals(a: Rational, b: Rational): boolean {
  return a.num * b.den === b.num * a.den;
}

function checked(r: Rational, bad: (why: string) => CascadeError): Rational {
  if (r.num <= 0 || r.den <= 0) throw bad('rounds to zero');
  return r;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function reduce(num: number, den: number): Rational {
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/**
 * NTSC-style rates (n * 1000/1001, as typed: 29.97, 23.976, 59.94) first; otherwise the first
 * fraction with a denominator up to 1000 that matches to 1e-6, else the closest one.
 */
function approximate(x: number): Rational {
  if (Number.isInteger(x)) return { num: x, den: 1 };
  const ntsc = Math.round(x * 1.001);
  if (ntsc > 0 && Math.abs(x * 1.001 - ntsc) < 2e-3) return reduce(ntsc * 1000, 1001);
  let best: Rational = { num: Math.round(x), den: 1 };
  let bestError = Math.abs(x - best.num);
  for (let den = 2; den <= 1000; den++) {
    const num = Math.round(x * den);
    const error = Math.abs(x - num / den);
    if (error < bestError) {
      best = { num, den };
      bestError = error;
      if (error < 1e-6) break;
    }
  }
  return reduce(best.num, best.den);
}
