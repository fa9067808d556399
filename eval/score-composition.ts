import { COLOUR_NAMES, type ColourName } from '../data/palette.js';
import type { PromptConstraints } from '../data/prompt-constraints.js';
import { CascadeError } from '../util/cascade-error.js';
import type { MeasuredComposition } from './measure-composition.js';

/**
 * Composition of one clip against its prompt. Shapes are not judged (only colours and counts:
 * the pixel measurement does not classify shapes); the prompt's groups are summed per colour.
 *
 * The clip's count is its *modal* per-colour count vector: the vector of counts per colour that
 * occurs in the most frames (ties go to the earliest frame), so a one-frame glitch does not
 * change it; stability says how often the frames agree with it.
 */
export interface ClipComposition {
  /** Objects the prompt asks for, per colour (colours it does not name are 0). */
  readonly expected: Record<ColourName, number>;
  /** The modal per-colour count vector. */
  readonly measured: Record<ColourName, number>;
  /** measured equals expected for every colour (so the total matches too). */
  readonly countCorrect: boolean;
  /** Only the total matches. */
  readonly totalCorrect: boolean;
  /** Objects beyond what the prompt asks: sum over colours of max(0, measured - expected). */
  readonly extra: number;
  /** Objects the prompt asks for that are not there: sum over colours of max(0, expected - measured). */
  readonly missing: number;
  /** Asked colours present (measured >= 1) / asked colours. */
  readonly colourRecall: number;
  /** No colour the prompt does not name is present. */
  readonly noUnaskedColour: boolean;
  /** Share of frames whose count vector equals expected (frame-level accuracy). */
  readonly frameAccuracy: number;
  /** Share of frames whose count vector equals the modal one. */
  readonly stability: number;
  /** Share of frames whose total object count (colours ignored) equals the modal total. */
  readonly totalStability: number;
}

export interface CompositionSummary {
  readonly clips: number;
  /** Share of clips with the exact per-colour counts (clip-level count accuracy). */
  readonly countAccuracy: number;
  /** Share of clips with the right total (colours ignored). */
  readonly totalCountAccuracy: number;
  /** Share of all frames (all clips) with the exact per-colour counts. */
  readonly frameCountAccuracy: number;
  /** Share of clips with at least one object more than asked in some colour (repeated objects). */
  readonly repetitionRate: number;
  /** Share of clips with at least one asked object absent (missing objects). */
  readonly missingRate: number;
  /** Mean extra objects per clip. */
  readonly meanExtra: number;
  /** Mean over clips of the share of asked colours present. */
  readonly colourAccuracy: number;
  /** Share of clips where the set of colours present is exactly the set asked. */
  readonly colourSetAccuracy: number;
  /** Share of clips whose count vector is identical in every frame. */
  readonly stableAllFrames: number;
  /** Share of clips whose count vector equals the modal one in at least 90% of frames. */
  readonly stable90: number;
  /**
   * Share of clips whose total object count is the same in every frame (the wording:
   * "the object count stays the same across frames"); an object whose measured colour changes
   * breaks `stableAllFrames` but not this.
   */
  readonly totalStableAllFrames: number;
  /** Share of clips whose total count equals the modal total in at least 90% of frames. */
  readonly totalStable90: number;
}

/** Scores a measured clip against prompt constraints (see ClipComposition). */
export function scoreComposition(
  measured: MeasuredComposition,
  constraints: PromptConstraints,
): ClipComposition {
  if (measured.frames.length === 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      'scoreComposition: the measured clip has no frames; pass a clip with at least one frame.',
    );
  }
  const expected = zeroCounts();
  for (const g of constraints.objects) expected[g.colour] += g.count;
  const keys = measured.frames.map((f) => COLOUR_NAMES.map((c) => f.counts[c]).join(','));
  const tally = new Map<string, number>();
  for (const k of keys) tally.set(k, (tally.get(k) ?? 0) + 1);
  let modalKey = keys[0]!;
  for (const k of keys) if (tally.get(k)! > tally.get(modalKey)!) modalKey = k;
  const modalFrame = measured.frames[keys.indexOf(modalKey)]!;
  const totals = measured.frames.map((f) => COLOUR_NAMES.reduce((sum, c) => sum + f.counts[c], 0));
  const m = { ...modalFrame.counts };
  let extra = 0;
  let missing = 0;
  let asked = 0;
  let present = 0;
  let unasked = false;
  let totalExpected = 0;
  let totalMeasured = 0;
  for (const c of COLOUR_NAMES) {
    extra += Math.max(0, m[c] - expected[c]);
    missing += Math.max(0, expected[c] - m[c]);
    totalExpected += expected[c];
    totalMeasured += m[c];
    if (expected[c] > 0) {
      asked++;
      if (m[c] > 0) present++;
    } else if (m[c] > 0) unasked = true;
  }
  const expectedKey = COLOUR_NAMES.map((c) => expected[c]).join(',');
  return {
    expected,
    measured: m,
    countCorrect: extra === 0 && missing === 0,
    totalCorrect: totalExpected === totalMeasured,
    extra,
    missing,
    colourRecall: asked === 0 ? 1 : present / asked,
    noUnaskedColour: !unasked,
    frameAccuracy: keys.filter((k) => k === expectedKey).length / keys.length,
    stability: tally.get(modalKey)! / keys.length,
    totalStability: modalShare(totals),
  };
}

/** Averages clip scores into the rates of the evaluation report. */
export function summariseComposition(clips: readonly ClipComposition[]): CompositionSummary {
  const n = clips.length;
  const rate = (f: (c: ClipComposition) => boolean | number): number =>
    n === 0 ? 0 : clips.reduce((s, c) => s + Number(f(c)), 0) / n;
  return {
    clips: n,
    countAccuracy: rate((c) => c.countCorrect),
    totalCountAccuracy: rate((c) => c.totalCorrect),
    frameCountAccuracy: rate((c) => c.frameAccuracy),
    repetitionRate: rate((c) => c.extra > 0),
    missingRate: rate((c) => c.missing > 0),
    meanExtra: rate((c) => c.extra),
    colourAccuracy: rate((c) => c.colourRecall),
    colourSetAccuracy: rate((c) => c.colourRecall === 1 && c.noUnaskedColour),
    stableAllFrames: rate((c) => c.stability === 1),
    stable90: rate((c) => c.stability >= 0.9),
    totalStableAllFrames: rate((c) => c.totalStability === 1),
    totalStable90: rate((c) => c.totalStability >= 0.9),
  };
}

/** Share of the values equal to the most frequent one. */
function modalShare(values: readonly number[]): number {
  const tally = new Map<number, number>();
  for (const v of values) tally.set(v, (tally.get(v) ?? 0) + 1);
  return Math.max(...tally.values()) / values.length;
}

function zeroCounts(): Record<ColourName, number> {
  return Object.fromEntries(COLOUR_NAMES.map((c) => [c, 0])) as Record<ColourName, number>;
}
