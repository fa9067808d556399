import { backgroundTones, type Rgb, scaleRgb } from './palette.js';
import { PINSTRIPE_SHADE, PINSTRIPE_WIDTH, type SceneBackground } from './scene.js';
import { type PeriodicProfile, profileMean, squareWaveMean } from './square-wave-mean.js';

/**
 * One background frame [height, width, 3], every pixel the exact mean of the continuous
 * background over the pixel's area (gradients are linear, so the centre value is the mean;
 * stripes and checkers are integrated in closed form per row and column).
 */
export function renderBackground(
  bg: SceneBackground,
  height: number,
  width: number,
  aspect: number,
): Float32Array {
  const out = new Float32Array(height * width * 3);
  const [a, b] = backgroundTones(bg.colour);
  // Pixel i spans [i, i + 1] / sx frame heights horizontally, row j spans [j, j + 1] / sy.
  const sx = width / aspect;
  const sy = height;
  switch (bg.kind) {
    case 'solid':
      for (let p = 0; p < height * width; p++) write(out, 3 * p, a);
      return out;
    case 'gradient': {
      const direction = bg.direction ?? 'down';
      for (let j = 0; j < height; j++) {
        const y = (j + 0.5) / sy;
        for (let i = 0; i < width; i++) {
          const xn = (i + 0.5) / sx / aspect;
          const t =
            direction === 'right'
              ? xn
              : direction === 'down'
                ? y
                : direction === 'down-right'
                  ? (xn + y) / 2
                  : (xn + 1 - y) / 2;
          const o = 3 * (j * width + i);
          out[o] = a[0] + (b[0] - a[0]) * t;
          out[o + 1] = a[1] + (b[1] - a[1]) * t;
          out[o + 2] = a[2] + (b[2] - a[2]) * t;
        }
      }
      return out;
    }
    case 'stripes': {
      const cell = bg.cell ?? 1 / 12;
      const phase = bg.phase ?? 0;
      const profile = stripeProfile(cell, a, b);
      const horizontal = (bg.orientation ?? 'horizontal') === 'horizontal';
      const n = horizontal ? height : width;
      const scale = horizontal ? sy : sx;
      const line = new Float32Array(3 * n);
      for (let k = 0; k < n; k++)
        profileMean(profile, k / scale + phase, (k + 1) / scale + phase, line, 3 * k);
      for (let j = 0; j < height; j++) {
        for (let i = 0; i < width; i++) {
          const src = 3 * (horizontal ? j : i);
          const o = 3 * (j * width + i);
          out[o] = line[src]!;
          out[o + 1] = line[src + 1]!;
          out[o + 2] = line[src + 2]!;
        }
      }
      return out;
    }
    case 'checker': {
      const cell = bg.cell ?? 1 / 12;
      const phase = bg.phase ?? 0;
      // The checker is the XOR of two square waves; over a rectangle the two are independent,
      // so the mean of the XOR is cx + cy - 2 cx cy with cx, cy the 1-D means.
      const cols = new Float64Array(width);
      for (let i = 0; i < width; i++)
        cols[i] = squareWaveMean(i / sx + phase, (i + 1) / sx + phase, 2 * cell);
      for (let j = 0; j < height; j++) {
        const cy = squareWaveMean(j / sy + phase, (j + 1) / sy + phase, 2 * cell);
        for (let i = 0; i < width; i++) {
          const cx = cols[i]!;
          const t = cx + cy - 2 * cx * cy;
          const o = 3 * (j * width + i);
          out[o] = a[0] + (b[0] - a[0]) * t;
          out[o + 1] = a[1] + (b[1] - a[1]) * t;
          out[o + 2] = a[2] + (b[2] - a[2]) * t;
        }
      }
      return out;
    }
  }
}

/** Two bands of width `cell` (tones a, b) with a dark pinstripe centred on each band boundary. */
function stripeProfile(cell: number, a: Rgb, b: Rgb): PeriodicProfile {
  const h = PINSTRIPE_WIDTH / 2;
  const pin = scaleRgb(b, PINSTRIPE_SHADE);
  return {
    ends: [h, cell - h, cell + h, 2 * cell - h, 2 * cell],
    values: [...pin, ...a, ...pin, ...b, ...pin],
  };
}

function write(out: Float32Array, o: number, c: Rgb): void {
  out[o] = c[0];
  out[o + 1] = c[1];
  out[o + 2] = c[2];
}
