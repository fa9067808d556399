import type { Clip } from '../data/clip.js';
import { parsePrompt } from '../data/parse-prompt.js';
import type { PromptConstraints } from '../data/prompt-constraints.js';
import { CascadeError, throwIfAborted } from '../util/cascade-error.js';
import { detailEnergy } from './detail-score.js';
import { FeatureNet } from './feature-net.js';
import type { FeatureSet } from './feature-set.js';
import {
  checkFrameConsistency,
  FRAME_CHECK_NAMES,
  type FrameCheckName,
  type FrameCheckThresholdsInput,
} from './frame-consistency.js';
import { frechetDistance } from './frechet-distance.js';
import type { IntervalEstimate } from './interval-estimate.js';
import { kernelDistance } from './kernel-distance.js';
import { type MeasuredComposition, measureComposition } from './measure-composition.js';
import { meanObjectSpeed, objectMotion } from './object-speed.js';
import { randomCrops } from './random-crops.js';
import { type CompositionSummary, scoreComposition, summariseComposition } from './score-composition.js';
import { meanFrameDifference, stageSeamRatio, warpingError } from './temporal-metrics.js';

export interface EvaluateClipsOptions {
  /** The clips to judge (generated), all the same size, [frames, h, w, 3] in [0, 1]. */
  readonly clips: readonly Clip[];
  /** Per clip, the prompt it was made from (text or parsed); enables the composition metrics. */
  readonly prompts?: readonly (string | PromptConstraints)[] | undefined;
  /**
   * Real clips at the same size (e.g. held-out renders): FD/KD, patch FD/KD, and the
   * reference values that flicker, warping error and detail are divided by.
   */
  readonly reference?: readonly Clip[] | undefined;
  /** The base model's own samples at d0: FD_b / KD_b of the clips (area-downsampled) against them. */
  readonly baseSamples?: readonly Clip[] | undefined;
  /** Per clip, the previous stage's output (its pivot): stage seam ratio and the seam frame check. */
  readonly pivots?: readonly Clip[] | undefined;
  /** Feature network to use (not disposed); default: the shipped preset, loaded and disposed here. */
  readonly featureNet?: FeatureNet | undefined;
  /** Seed of the bootstrap resampling and the patch crops (default 0). */
  readonly seed?: number | undefined;
  /** Bootstrap replicates for every interval (default 100; 0 = no intervals). */
  readonly bootstrap?: number | undefined;
  /** Native-resolution patch crops per clip for pFD (default 4; side FEATURE_NET_SIZE = 32 px). */
  readonly patchesPerClip?: number | undefined;
  /** Warping error is computed on at most this many clips of each set (default 64; it is the slow metric). */
  readonly warpClips?: number | undefined;
  /** Frame-check thresholds (defaults of frame-consistency.ts where absent). */
  readonly frameChecks?: FrameCheckThresholdsInput | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: EvaluateProgress) => void) | undefined;
}

export interface EvaluateProgress {
  readonly stage: 'eval';
  readonly phase: 'composition' | 'features' | 'distances' | 'temporal' | 'checks';
  /** Overall fraction done, 0..1. */
  readonly fraction: number;
}

export interface DistancePair {
  readonly fd: IntervalEstimate;
  readonly kd: IntervalEstimate;
  /** Rows in each feature set. */
  readonly samples: readonly [number, number];
}

export interface ClipResult {
  readonly index: number;
  readonly countCorrect?: boolean;
  readonly extra?: number;
  readonly missing?: number;
  readonly stability?: number;
  readonly checksPassed: boolean;
  readonly failedChecks: FrameCheckName[];
  /** Each check's worst statistic in this clip (FrameCheck.value), for the checks that ran. */
  readonly checkValues: Partial<Record<FrameCheckName, number>>;
}

export interface EvaluationReport {
  readonly clips: number;
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  readonly composition?: CompositionSummary;
  /** Against the reference clips. */
  readonly distances?: {
    readonly whole: DistancePair;
    /** Native-resolution 32 x 32 crops; absent when the clips are 32 x 32 (it would equal `whole`). */
    readonly patch?: DistancePair;
  };
  /** Against the base model's own samples. */
  readonly base?: DistancePair;
  readonly temporal: {
    /** Mean consecutive-frame |difference| of the clips (RGB, [0, 1]). */
    readonly frameDifference: number;
    readonly referenceFrameDifference?: number;
    /** frameDifference / referenceFrameDifference: flicker relative to real clips (1 = as real). */
    readonly flicker?: number;
    /**
     * Mean object speed, base pixels per frame, between frames with the same objects
     * (eval/object-speed.ts); absent when no object could be followed.
     */
    readonly objectSpeed?: number;
    readonly referenceObjectSpeed?: number;
    /** objectSpeed / referenceObjectSpeed (1 = objects move as in real clips). */
    readonly objectSpeedRatio?: number;
    /** Warping error (occlusion-masked), its unmasked variant and the kept share, over `warpClips`. */
    readonly warpingError: number;
    readonly warpingErrorUnmasked: number;
    readonly warpValidFraction: number;
    readonly referenceWarpingError?: number;
    readonly referenceWarpingErrorUnmasked?: number;
    /** warpingError / referenceWarpingError. */
    readonly warpingRatio?: number;
    readonly warpingUnmaskedRatio?: number;
    /** Mean stage seam ratio against the pivots. */
    readonly stageSeamRatio?: number;
  };
  readonly detail: {
    readonly energy: number;
    readonly referenceEnergy?: number;
    /** energy / referenceEnergy (1 = as detailed as real clips, < 1 blurrier). */
    readonly ratio?: number;
  };
  readonly frameChecks: {
    readonly passed: number;
    readonly passRate: number;
    /** Clips failing each check. */
    readonly failures: Record<FrameCheckName, number>;
  };
  readonly perClip: ClipResult[];
  /** Feature network provenance (from its weights' metadata) and feature size. */
  readonly featureNet: { readonly featureDim: number; readonly metadata: Readonly<Record<string, string>> };
  readonly seconds: number;
}

/**
 * Evaluates a set of clips: composition against prompts, FD/KD (+ patch and base variants)
 * with bootstrap intervals, temporal metrics, detail, and the frame checks. Pure apart from
 * tensor work in the feature network; the CLI (`cascade eval`) wraps it.
 */
export async function evaluateClips(options: EvaluateClipsOptions): Promise<EvaluationReport> {
  const started = performance.now();
  const { clips, reference, baseSamples, pivots, prompts, signal } = options;
  validate(options);
  const first = clips[0]!;
  const seed = options.seed ?? 0;
  const replicates = options.bootstrap ?? 100;
  const progress = (phase: EvaluateProgress['phase'], fraction: number): void =>
    options.onProgress?.({ stage: 'eval', phase, fraction });

  // Composition and frame checks: per clip, cheap.
  progress('composition', 0);
  const constraints = prompts?.map((p) => (typeof p === 'string' ? parsePrompt(p) : p));
  const measured = clips.map((clip) => measureComposition(clip));
  const scores = constraints?.map((c, i) => scoreComposition(measured[i]!, c));
  throwIfAborted(signal);
  progress('checks', 0.1);
  const failures = Object.fromEntries(FRAME_CHECK_NAMES.map((n) => [n, 0])) as Record<FrameCheckName, number>;
  const perClip: ClipResult[] = clips.map((clip, index) => {
    const result = checkFrameConsistency(clip, options.frameChecks ?? {}, { pivot: pivots?.[index] });
    const failed = result.checks.filter((c) => !c.passed).map((c) => c.name);
    for (const name of failed) failures[name] += 1;
    const s = scores?.[index];
    return {
      index,
      ...(s
        ? { countCorrect: s.countCorrect, extra: s.extra, missing: s.missing, stability: s.stability }
        : {}),
      checksPassed: result.passed,
      failedChecks: failed,
      checkValues: Object.fromEntries(result.checks.map((c) => [c.name, c.value])),
    };
  });
  const passed = perClip.filter((c) => c.checksPassed).length;
  throwIfAborted(signal);

  // Features and distances.
  const net = options.featureNet ?? (await FeatureNet.load());
  let distances: EvaluationReport['distances'];
  let base: DistancePair | undefined;
  try {
    progress('features', 0.15);
    const needFeatures = reference !== undefined || baseSamples !== undefined;
    const gen = needFeatures ? await net.features(clips) : undefined;
    throwIfAborted(signal);
    const pair = (a: FeatureSet, b: FeatureSet, salt: number, perClip = 1): DistancePair => {
      const groups = (n: number) => Int32Array.from({ length: n }, (_, i) => Math.floor(i / perClip));
      return {
        fd: frechetDistance(a, b, { replicates, seed: seed + salt }),
        kd: kernelDistance(a, b, {
          replicates,
          seed: seed + salt,
          groups: { x: groups(a.count), y: groups(b.count) },
        }),
        samples: [a.count, b.count],
      };
    };
    if (reference && gen) {
      const ref = await net.features(reference);
      throwIfAborted(signal);
      progress('distances', 0.4);
      const whole = pair(gen, ref, 1);
      let patch: DistancePair | undefined;
      const size = 32;
      if (first.height > size || first.width > size) {
        const per = options.patchesPerClip ?? 4;
        progress('features', 0.45);
        const a = await net.features(randomCrops(clips, size, per, seed));
        throwIfAborted(signal);
        const b = await net.features(randomCrops(reference, size, per, seed + 1));
        throwIfAborted(signal);
        progress('distances', 0.6);
        patch = pair(a, b, 2, per);
      }
      distances = patch ? { whole, patch } : { whole };
    }
    if (baseSamples && gen) {
      // The feature network area-resizes every clip to 32 x 32 itself, so the clips'
      // downsampling to the base resolution happens inside `features`.
      const b = await net.features(baseSamples);
      throwIfAborted(signal);
      base = pair(gen, b, 3);
    }
  } finally {
    if (!options.featureNet) net.dispose();
  }
  throwIfAborted(signal);

  // Temporal and detail.
  progress('temporal', 0.7);
  const mean = (xs: readonly number[]): number =>
    xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
  const warpCount = options.warpClips ?? 64;
  const warps = (set: readonly Clip[]) => set.slice(0, warpCount).map((c) => warpingError(c));
  const w = warps(clips);
  throwIfAborted(signal);
  const frameDifference = mean(clips.map(meanFrameDifference));
  const energy = mean(clips.map(detailEnergy));
  const warpingErrorValue = mean(w.map((x) => x.value));
  const warpingErrorUnmasked = mean(w.map((x) => x.unmasked));
  const speedOf = (set: readonly MeasuredComposition[]) =>
    meanObjectSpeed(set.map((m) => objectMotion(m, first.height)));
  const objectSpeed = speedOf(measured);
  let temporal: EvaluationReport['temporal'] = {
    frameDifference,
    ...(objectSpeed === undefined ? {} : { objectSpeed }),
    warpingError: warpingErrorValue,
    warpingErrorUnmasked,
    warpValidFraction: mean(w.map((x) => x.validFraction)),
  };
  let detail: EvaluationReport['detail'] = { energy };
  if (reference) {
    const rw = warps(reference);
    throwIfAborted(signal);
    const refDiff = mean(reference.map(meanFrameDifference));
    const refEnergy = mean(reference.map(detailEnergy));
    const refWarp = mean(rw.map((x) => x.value));
    const refWarpUnmasked = mean(rw.map((x) => x.unmasked));
    const refSpeed = speedOf(reference.map((clip) => measureComposition(clip)));
    temporal = {
      ...temporal,
      ...(refSpeed === undefined ? {} : { referenceObjectSpeed: refSpeed }),
      ...(objectSpeed === undefined || refSpeed === undefined
        ? {}
        : { objectSpeedRatio: ratio(objectSpeed, refSpeed) }),
      referenceFrameDifference: refDiff,
      flicker: ratio(frameDifference, refDiff),
      referenceWarpingError: refWarp,
      referenceWarpingErrorUnmasked: refWarpUnmasked,
      warpingRatio: ratio(warpingErrorValue, refWarp),
      warpingUnmaskedRatio: ratio(warpingErrorUnmasked, refWarpUnmasked),
    };
    detail = { energy, referenceEnergy: refEnergy, ratio: ratio(energy, refEnergy) };
  }
  if (pivots) {
    temporal = { ...temporal, stageSeamRatio: mean(clips.map((c, i) => stageSeamRatio(c, pivots[i]!))) };
  }
  progress('temporal', 1);

  return {
    clips: clips.length,
    height: first.height,
    width: first.width,
    frames: first.frames,
    ...(scores ? { composition: summariseComposition(scores) } : {}),
    ...(distances ? { distances } : {}),
    ...(base ? { base } : {}),
    temporal,
    detail,
    frameChecks: { passed, passRate: passed / clips.length, failures },
    perClip,
    featureNet: { featureDim: net.featureDim, metadata: net.metadata },
    seconds: (performance.now() - started) / 1000,
  };
}

function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

function validate(options: EvaluateClipsOptions): void {
  const { clips, prompts, reference, pivots } = options;
  if (clips.length === 0) {
    throw new CascadeError('BAD_ARGUMENT', 'evaluateClips: no clips to evaluate; pass at least one clip.', {
      path: 'clips',
    });
  }
  const first = clips[0]!;
  const sameSize = (c: Clip): boolean =>
    c.height === first.height && c.width === first.width && c.frames === first.frames;
  const bad = clips.findIndex((c) => !sameSize(c));
  if (bad >= 0) {
    const c = clips[bad]!;
    throw new CascadeError(
      'BAD_ARGUMENT',
      `evaluateClips: clip ${bad} is ${c.frames}x${c.height}x${c.width} but clip 0 is ${first.frames}x${first.height}x${first.width}; evaluate one resolution at a time.`,
      { path: `clips.${bad}` },
    );
  }
  if (prompts && prompts.length !== clips.length) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `evaluateClips: ${prompts.length} prompts for ${clips.length} clips; give one prompt per clip (same order).`,
      { path: 'prompts' },
    );
  }
  if (pivots && pivots.length !== clips.length) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `evaluateClips: ${pivots.length} pivots for ${clips.length} clips; give one pivot per clip (same order).`,
      { path: 'pivots' },
    );
  }
  if (reference) {
    const r = reference.findIndex((c) => c.height !== first.height || c.width !== first.width);
    if (r >= 0 || reference.length < 2) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        reference.length < 2
          ? `evaluateClips: the reference set has ${reference.length} clips; at least 2 are needed (more than 100 for stable FD).`
          : `evaluateClips: reference clip ${r} is ${reference[r]!.height}x${reference[r]!.width} but the clips are ${first.height}x${first.width}; the reference must be real clips at the same resolution.`,
        { path: 'reference' },
      );
    }
  }
}
