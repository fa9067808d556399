import type { RgbImage } from '../codecs/write-png.js';
import { writePng } from '../codecs/write-png.js';

export interface LossPlotPoint {
  readonly step: number;
  readonly loss: number;
}

export interface LossPlotOptions {
  readonly width?: number;
  readonly height?: number;
  /**
   * EMA factor of the smoothed curve (0 = no smoothing), bias-corrected. Default: an average
   * over about 1/25 of the points (at most 100), so short and long runs both show a trend.
   */
  readonly smoothing?: number;
}

type Rgb = readonly [number, number, number];

const BACKGROUND: Rgb = [255, 255, 255];
const GRID: Rgb = [228, 228, 228];
const AXIS: Rgb = [60, 60, 60];
const RAW: Rgb = [160, 190, 235];
const SMOOTH: Rgb = [20, 60, 160];
const TEXT: Rgb = [40, 40, 40];

/**
 * 3x5 bitmap glyphs for axis labels (rows top to bottom, 3 bits each, MSB = left column).
 * Only what tick labels need: digits, '.', '-', 'e' and 'k'.
 */
const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 2, 2],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  '-': [0, 0, 7, 0, 0],
  e: [0, 7, 5, 6, 7],
  k: [4, 5, 6, 5, 5],
};
const GLYPH_SCALE = 2;

/**
 * Draws the loss curve onto an RGB buffer: log-scale y (loss spans decades during training),
 * linear x in steps, grid lines at powers of ten and at round step counts, the raw per-step
 * loss in light blue and its smoothed trend in dark blue.
 */
export function renderLossPlot(points: readonly LossPlotPoint[], options: LossPlotOptions = {}): RgbImage {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const smoothing = options.smoothing ?? 1 - 1 / Math.max(1, Math.min(100, points.length / 25));
  const canvas = new Canvas(width, height);
  const left = 56;
  const right = width - 24;
  const top = 16;
  const bottom = height - 32;

  const valid = points.filter((p) => Number.isFinite(p.loss) && p.loss > 0);
  const firstStep = valid[0]?.step ?? 0;
  const lastStep = Math.max(valid[valid.length - 1]?.step ?? 1, firstStep + 1);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const p of valid) {
    lo = Math.min(lo, p.loss);
    hi = Math.max(hi, p.loss);
  }
  if (!Number.isFinite(lo)) {
    lo = 0.01;
    hi = 1;
  }
  let logLo = Math.floor(Math.log10(lo) * 4) / 4;
  let logHi = Math.ceil(Math.log10(hi) * 4) / 4;
  if (logHi - logLo < 0.5) {
    logLo -= 0.25;
    logHi += 0.25;
  }
  const xOf = (step: number): number => left + ((step - firstStep) / (lastStep - firstStep)) * (right - left);
  const yOf = (loss: number): number =>
    bottom - ((Math.log10(loss) - logLo) / (logHi - logLo)) * (bottom - top);

  // Horizontal grid at 1, 2, 5 x 10^k; labels at powers of ten (or at all of them when the range is narrow).
  const narrow = logHi - logLo < 1.5;
  for (let k = Math.floor(logLo); k <= Math.ceil(logHi); k++) {
    for (const m of [1, 2, 5]) {
      const value = m * 10 ** k;
      const l = Math.log10(value);
      if (l < logLo || l > logHi) continue;
      const y = Math.round(yOf(value));
      canvas.hline(left, right, y, GRID);
      if (m === 1 || narrow) canvas.text(formatLoss(value), left - 4, y - 5, TEXT, 'right');
    }
  }
  // Vertical grid at round step counts (about 5 ticks).
  const span = lastStep - firstStep;
  const rough = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  const tick = [1, 2, 5, 10].map((m) => m * magnitude).find((t) => t >= rough) ?? magnitude * 10;
  for (let s = Math.ceil(firstStep / tick) * tick; s <= lastStep; s += tick) {
    const x = Math.round(xOf(s));
    canvas.vline(x, top, bottom, GRID);
    canvas.text(formatStep(s), x, bottom + 6, TEXT, 'centre');
  }
  canvas.vline(left, top, bottom, AXIS);
  canvas.hline(left, right, bottom, AXIS);

  const polyline = (values: readonly LossPlotPoint[], colour: Rgb, dy = 0): void => {
    let previous: [number, number] | undefined;
    for (const p of values) {
      const point: [number, number] = [Math.round(xOf(p.step)), Math.round(yOf(p.loss)) + dy];
      if (previous) canvas.line(previous[0], previous[1], point[0], point[1], colour);
      else canvas.set(point[0], point[1], colour);
      previous = point;
    }
  };
  polyline(valid, RAW);
  if (smoothing > 0 && valid.length > 1) {
    let average = 0;
    let weight = 0;
    const smooth = valid.map((p) => {
      average = smoothing * average + (1 - smoothing) * Math.log(p.loss);
      weight = smoothing * weight + (1 - smoothing);
      return { step: p.step, loss: Math.exp(average / weight) };
    });
    // Two pixels thick, so the trend stands out over the raw curve.
    polyline(smooth, SMOOTH);
    polyline(smooth, SMOOTH, 1);
  }
  return canvas.image();
}

/** Renders and writes the plot as a PNG (atomically). */
export async function writeLossPlot(
  path: string,
  points: readonly LossPlotPoint[],
  options: LossPlotOptions = {},
): Promise<void> {
  await writePng(path, renderLossPlot(points, options));
}

function formatLoss(value: number): string {
  if (value >= 0.001 && value < 1000) return String(Number(value.toPrecision(3)));
  return value.toExponential(0).replace('+', '');
}

function formatStep(step: number): string {
  if (step >= 1000 && step % 1000 === 0) return `${step / 1000}k`;
  if (step >= 1000 && step % 100 === 0) return `${(step / 1000).toFixed(1)}k`;
  return String(step);
}

class Canvas {
  private readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(BACKGROUND, i * 3);
  }

  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, (y * this.width + x) * 3);
  }

  hline(x0: number, x1: number, y: number, c: Rgb): void {
    for (let x = x0; x <= x1; x++) this.set(x, y, c);
  }

  vline(x: number, y0: number, y1: number, c: Rgb): void {
    for (let y = y0; y <= y1; y++) this.set(x, y, c);
  }

  /** Bresenham line, endpoints included. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.set(x0, y0, c);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  text(s: string, x: number, y: number, c: Rgb, align: 'right' | 'centre'): void {
    const advance = 4 * GLYPH_SCALE;
    const widthPx = s.length * advance - GLYPH_SCALE;
    let cx = align === 'right' ? x - widthPx : Math.round(x - widthPx / 2);
    for (const ch of s) {
      const rows = GLYPHS[ch];
      if (rows) {
        rows.forEach((bits, row) => {
          for (let col = 0; col < 3; col++) {
            if (((bits >> (2 - col)) & 1) === 0) continue;
            for (let i = 0; i < GLYPH_SCALE; i++)
              for (let j = 0; j < GLYPH_SCALE; j++)
                this.set(cx + col * GLYPH_SCALE + i, y + row * GLYPH_SCALE + j, c);
          }
        });
      }
      cx += advance;
    }
  }

  image(): RgbImage {
    return { width: this.width, height: this.height, data: this.data };
  }
}
