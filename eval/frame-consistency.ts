import { z } from 'zod';
import type { Clip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';
import { areaResize } from './area-resize.js';
import { clipLuma } from './clip-luma.js';
import { median } from './median.js';

/**
 * Frame-consistency checks the render pipeline runs on every decoded clip before encoding.
 * Pure and fast (a few ms for 128x128x16): plain loops over the clip's floats, no tensors.
 * All differences are in the clip's units (RGB in [0, 1]); frame numbers are 0-based.
 */
export const FRAME_CHECK_NAMES = ['flicker', 'colour', 'similarity', 'seam', 'frozen', 'black'] as const;
export type FrameCheckName = (typeof FRAME_CHECK_NAMES)[number];

/**
 * Thresholds, each with its default. A job file may override any subset; `skip` turns checks off.
 * The defaults were set on rendered shapes clips (which all pass) and on broken ones (a black
 * frame, a frozen run, an inserted foreign frame, noise frames), see docs/metrics.md.
 */
export const frameCheckThresholdsSchema = z
  .object({
    /** flicker: a consecutive-frame mean |difference| above this multiple of the clip's median one. */
    flickerRatio: z.number().gt(1).default(4),
    /** flicker: ... and above this absolute mean |difference|, so near-static clips need a real jump. */
    flickerMinDifference: z.number().min(0).default(0.03),
    /**
     * colour: largest allowed change of a frame's mean colour (any RGB channel) from the previous
     * frame. Moving objects barely change it (at most 0.005 over 300 rendered shapes clips at 32
     * px); a video whose colours are chosen frame by frame does (uniform per-frame offsets of
     * +-0.05 per channel give at least 0.06). The flicker check cannot see this when every frame
     * jumps, because it compares each jump with the clip's median one.
     */
    maxColourJump: z.number().positive().default(0.03),
    /** similarity: lowest allowed block-SSIM of luma between consecutive frames (1 = identical). */
    minSimilarity: z.number().min(-1).max(1).default(0.4),
    /**
     * seam: highest allowed ratio of mean |area-downsampled output - pivot| to the pivot's natural
     * variation (its median consecutive-frame mean |difference|, floored at `seamMinScale`).
     */
    seamRatio: z.number().positive().default(3),
    seamMinScale: z.number().positive().default(0.01),
    /** frozen: this many consecutive (near-)identical frames fail the check. */
    frozenRun: z.number().int().min(2).default(3),
    /** frozen: frames whose largest |difference| is at most this count as identical (1/255 = one 8-bit step). */
    frozenTolerance: z
      .number()
      .min(0)
      .default(1 / 255),
    /** black: a frame whose mean luma is below this is black. */
    blackLuma: z.number().min(0).max(1).default(0.02),
    /** Checks not to run. */
    skip: z.array(z.enum(FRAME_CHECK_NAMES)).default([]),
  })
  .strict();

export type FrameCheckThresholds = z.output<typeof frameCheckThresholdsSchema>;
export type FrameCheckThresholdsInput = z.input<typeof frameCheckThresholdsSchema>;

export const DEFAULT_FRAME_CHECK_THRESHOLDS: FrameCheckThresholds = frameCheckThresholdsSchema.parse({});

export interface FrameCheck {
  readonly name: FrameCheckName;
  readonly passed: boolean;
  /**
   * The clip's worst statistic: flicker = largest difference ratio, colour = largest mean
   * colour change, similarity = lowest block
   * SSIM, seam = largest ratio, frozen = longest run of identical frames, black = lowest mean luma.
   */
  readonly value: number;
  readonly threshold: number;
  /** Offending frame numbers, ascending (for a pair (t-1, t), frame t). */
  readonly frames: number[];
}

export interface FrameConsistencyResult {
  readonly passed: boolean;
  readonly checks: FrameCheck[];
}

export interface FrameConsistencyOptions {
  /** The previous cascade stage's output for this clip (same frames, lower resolution). */
  readonly pivot?: Clip | undefined;
}

/**
 * Runs the frame checks on `clip` [frames, h, w, 3]. The seam check runs only when a pivot is
 * given. `thresholds` may be partial (missing values take the defaults); invalid values throw
 * BAD_ARGUMENT naming the field.
 */
export function checkFrameConsistency(
  clip: Clip,
  thresholds: FrameCheckThresholdsInput | FrameCheckThresholds = {},
  options: FrameConsistencyOptions = {},
): FrameConsistencyResult {
  const parsed = frameCheckThresholdsSchema.safeParse(thresholds);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new CascadeError('BAD_ARGUMENT', `Frame-check threshold "${field}": ${issue.message}.`, {
      path: `checks.${field}`,
      details: { issues: parsed.error.issues },
    });
  }
  const th = parsed.data;
  const skip = new Set(th.skip);
  const checks: FrameCheck[] = [];
  const diffs = consecutiveDifferences(clip);
  let lumaCache: Float32Array | undefined;
  const luma = (): Float32Array => {
    lumaCache ??= clipLuma(clip);
    return lumaCache;
  };
  if (!skip.has('flicker')) checks.push(flickerCheck(diffs, th));
  if (!skip.has('colour')) checks.push(colourCheck(clip, th));
  if (!skip.has('similarity')) checks.push(similarityCheck(clip, luma(), th));
  if (!skip.has('seam') && options.pivot !== undefined) checks.push(seamCheck(clip, options.pivot, th));
  if (!skip.has('frozen')) checks.push(frozenCheck(diffs, clip.frames, th));
  if (!skip.has('black')) checks.push(blackCheck(clip, luma(), th));
  return { passed: checks.every((c) => c.passed), checks };
}

interface PairDifferences {
  /** mean |f[t+1] - f[t]| over pixels and channels, t = 0..frames-2. */
  readonly mean: Float64Array;
  /** max |f[t+1] - f[t]|. */
  readonly max: Float64Array;
}

function consecutiveDifferences(clip: Clip): PairDifferences {
  const pairs = Math.max(0, clip.frames - 1);
  const n = clip.height * clip.width * 3;
  const mean = new Float64Array(pairs);
  const max = new Float64Array(pairs);
  const d = clip.data;
  for (let t = 0; t < pairs; t++) {
    const a = t * n;
    const b = a + n;
    let sum = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = Math.abs(d[b + i]! - d[a + i]!);
      sum += v;
      if (v > m) m = v;
    }
    mean[t] = sum / n;
    max[t] = m;
  }
  return { mean, max };
}

function flickerCheck(diffs: PairDifferences, th: FrameCheckThresholds): FrameCheck {
  const base = Math.max(median(diffs.mean), th.flickerMinDifference / th.flickerRatio);
  const frames: number[] = [];
  let worst = 0;
  diffs.mean.forEach((v, t) => {
    const ratio = base > 0 ? v / base : 0;
    if (ratio > worst) worst = ratio;
    if (ratio > th.flickerRatio) frames.push(t + 1);
  });
  return { name: 'flicker', passed: frames.length === 0, value: worst, threshold: th.flickerRatio, frames };
}

function colourCheck(clip: Clip, th: FrameCheckThresholds): FrameCheck {
  const plane = clip.height * clip.width;
  const frames: number[] = [];
  let worst = 0;
  let previous: number[] | undefined;
  for (let t = 0; t < clip.frames; t++) {
    const mean = [0, 0, 0];
    for (let i = t * plane * 3; i < (t + 1) * plane * 3; i += 3) {
      mean[0]! += clip.data[i]!;
      mean[1]! += clip.data[i + 1]!;
      mean[2]! += clip.data[i + 2]!;
    }
    for (let c = 0; c < 3; c++) mean[c]! /= plane;
    if (previous) {
      const jump = Math.max(...mean.map((m, c) => Math.abs(m - previous![c]!)));
      if (jump > worst) worst = jump;
      if (jump > th.maxColourJump) frames.push(t);
    }
    previous = mean;
  }
  return { name: 'colour', passed: frames.length === 0, value: worst, threshold: th.maxColourJump, frames };
}

/**
 * Mean SSIM of luma over non-overlapping square blocks (side 4 px below 128 px, 8 px from 128
 * px), standard constants C1 = 0.01^2, C2 = 0.03^2 for a [0, 1] range, so flat blocks that match
 * count as similar and unrelated frames (noise, a cut) score near 0.
 */
function similarityCheck(clip: Clip, luma: Float32Array, th: FrameCheckThresholds): FrameCheck {
  const sims = blockSsimPairs(clip, luma);
  const frames: number[] = [];
  let worst = 1;
  sims.forEach((s, t) => {
    if (s < worst) worst = s;
    if (s < th.minSimilarity) frames.push(t + 1);
  });
  return {
    name: 'similarity',
    passed: frames.length === 0,
    value: worst,
    threshold: th.minSimilarity,
    frames,
  };
}

/** Block SSIM of luma for each consecutive frame pair: length frames - 1. */
export function blockSsimPairs(clip: Clip, luma: Float32Array = clipLuma(clip)): Float64Array {
  const { frames, height, width } = clip;
  const side = Math.min(height, width) >= 128 ? 8 : 4;
  const by = Math.max(1, Math.floor(height / side));
  const bx = Math.max(1, Math.floor(width / side));
  const sh = Math.min(side, height);
  const sw = Math.min(side, width);
  const blocks = by * bx;
  const count = sh * sw;
  const mean = new Float64Array(frames * blocks);
  const variance = new Float64Array(frames * blocks);
  const plane = height * width;
  for (let t = 0; t < frames; t++) {
    for (let j = 0; j < by; j++) {
      for (let i = 0; i < bx; i++) {
        let s = 0;
        let s2 = 0;
        for (let y = j * sh; y < (j + 1) * sh; y++) {
          const row = t * plane + y * width;
          for (let x = i * sw; x < (i + 1) * sw; x++) {
            const v = luma[row + x]!;
            s += v;
            s2 += v * v;
          }
        }
        const m = s / count;
        mean[t * blocks + j * bx + i] = m;
        variance[t * blocks + j * bx + i] = Math.max(0, s2 / count - m * m);
      }
    }
  }
  const c1 = 0.01 * 0.01;
  const c2 = 0.03 * 0.03;
  const out = new Float64Array(Math.max(0, frames - 1));
  for (let t = 0; t + 1 < frames; t++) {
    let total = 0;
    for (let j = 0; j < by; j++) {
      for (let i = 0; i < bx; i++) {
        let sxy = 0;
        for (let y = j * sh; y < (j + 1) * sh; y++) {
          const ra = t * plane + y * width;
          const rb = ra + plane;
          for (let x = i * sw; x < (i + 1) * sw; x++) sxy += luma[ra + x]! * luma[rb + x]!;
        }
        const k = j * bx + i;
        const ma = mean[t * blocks + k]!;
        const mb = mean[(t + 1) * blocks + k]!;
        const cov = sxy / count - ma * mb;
        const va = variance[t * blocks + k]!;
        const vb = variance[(t + 1) * blocks + k]!;
        total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      }
    }
    out[t] = total / blocks;
  }
  return out;
}

function seamCheck(clip: Clip, pivot: Clip, th: FrameCheckThresholds): FrameCheck {
  const ratios = stageSeamRatios(clip, pivot, th.seamMinScale);
  const frames: number[] = [];
  let worst = 0;
  ratios.forEach((r, t) => {
    if (r > worst) worst = r;
    if (r > th.seamRatio) frames.push(t);
  });
  return { name: 'seam', passed: frames.length === 0, value: worst, threshold: th.seamRatio, frames };
}

/**
 * Per frame: mean |areaResize(output to the pivot's size) - pivot| divided by the pivot's
 * natural variation (median over t of mean |pivot[t+1] - pivot[t]|, floored at `minScale`).
 * A ratio of 1 means the stage moved the content as far from its pivot as one frame of motion.
 */
export function stageSeamRatios(output: Clip, pivot: Clip, minScale: number): Float64Array {
  if (pivot.frames !== output.frames) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `The pivot has ${pivot.frames} frames but the stage output has ${output.frames}; a pivot must be the previous stage's output of the same clip (same frame count).`,
      { details: { pivotFrames: pivot.frames, outputFrames: output.frames } },
    );
  }
  if (pivot.height > output.height || pivot.width > output.width) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `The pivot is ${pivot.height}x${pivot.width} but the stage output is ${output.height}x${output.width}; the pivot must not be larger than the output.`,
      { details: { pivot: [pivot.height, pivot.width], output: [output.height, output.width] } },
    );
  }
  const down = areaResize(output, pivot.height, pivot.width);
  const n = pivot.height * pivot.width * 3;
  const natural = consecutiveDifferences(pivot).mean;
  const scale = Math.max(median(natural), minScale);
  const out = new Float64Array(pivot.frames);
  for (let t = 0; t < pivot.frames; t++) {
    let s = 0;
    for (let i = t * n; i < (t + 1) * n; i++) s += Math.abs(down.data[i]! - pivot.data[i]!);
    out[t] = s / n / scale;
  }
  return out;
}

function frozenCheck(diffs: PairDifferences, frameCount: number, th: FrameCheckThresholds): FrameCheck {
  const frames: number[] = [];
  let longest = frameCount > 0 ? 1 : 0;
  let runStart = 0;
  const pairs = diffs.max.length;
  for (let t = 0; t <= pairs && frameCount > 0; t++) {
    const same = t < pairs && diffs.max[t]! <= th.frozenTolerance;
    if (same) continue;
    // Frames runStart..t are identical to their successors up to t.
    const run = t - runStart + 1;
    if (run > longest) longest = run;
    if (run >= th.frozenRun) for (let f = runStart; f <= t; f++) frames.push(f);
    runStart = t + 1;
  }
  return { name: 'frozen', passed: frames.length === 0, value: longest, threshold: th.frozenRun, frames };
}

function blackCheck(clip: Clip, luma: Float32Array, th: FrameCheckThresholds): FrameCheck {
  const plane = clip.height * clip.width;
  const frames: number[] = [];
  let worst = Number.POSITIVE_INFINITY;
  for (let t = 0; t < clip.frames; t++) {
    let s = 0;
    for (let i = t * plane; i < (t + 1) * plane; i++) s += luma[i]!;
    const m = s / plane;
    if (m < worst) worst = m;
    if (m < th.blackLuma) frames.push(t);
  }
  return {
    name: 'black',
    passed: frames.length === 0,
    value: clip.frames === 0 ? 0 : worst,
    threshold: th.blackLuma,
    frames,
  };
}
