import type { ColourName } from './palette.js';

/**
 * A shapes-domain scene: resolution-free and time-analytic, so the same scene renders at d0,
 * 2 d0 and 4 d0 (and any frame count) from the same numbers.
 *
 * Units: lengths are in frame heights. The frame spans x in [0, aspect] (left to right) and
 * y in [0, 1] (top to bottom). Time is in frames: frame t shows the scene at time t.
 */
export const SHAPE_KINDS = ['circle', 'square', 'triangle', 'diamond', 'ring', 'cross', 'star'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

export const BACKGROUND_KINDS = ['solid', 'gradient', 'stripes', 'checker'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

/** Fill patterns are fine detail: their period is one d0 pixel, so they average out at d0. */
export const FILL_PATTERNS = ['plain', 'hstripes', 'vstripes', 'checker'] as const;
export type FillPattern = (typeof FILL_PATTERNS)[number];

/** Gradient directions: the tone goes from the named colour at the start to its shade at the end. */
export const GRADIENT_DIRECTIONS = ['right', 'down', 'down-right', 'up-right'] as const;
export type GradientDirection = (typeof GRADIENT_DIRECTIONS)[number];

export interface SceneBackground {
  readonly kind: BackgroundKind;
  readonly colour: ColourName;
  /** gradient only. */
  readonly direction?: GradientDirection;
  /** stripes: 'horizontal' bands vary along y, 'vertical' along x. */
  readonly orientation?: 'horizontal' | 'vertical';
  /** stripes: width of one band (a full period is two bands); checker: cell side. Frame heights. */
  readonly cell?: number;
  /** stripes/checker: pattern offset, frame heights (shifts the pattern, keeps its statistics). */
  readonly phase?: number;
}

export interface SceneObject {
  readonly shape: ShapeKind;
  readonly colour: ColourName;
  /** Half of the shape's nominal extent (every shape fits in a square of side 2 * size). */
  readonly size: number;
  /** Centre at time 0, frame heights. */
  readonly x: number;
  readonly y: number;
  /** Velocity, frame heights per frame; the object bounces off the frame walls. */
  readonly vx: number;
  readonly vy: number;
  readonly pattern: FillPattern;
  /** Offset of the fill pattern in the object's own frame, frame heights. */
  readonly patternPhase: number;
}

export interface Scene {
  readonly version: 1;
  /** Width / height of the frame the scene lives in. Rendering at another aspect stretches it. */
  readonly aspect: number;
  readonly background: SceneBackground;
  /** Draw order: later objects are drawn on top (objects are sampled not to overlap). */
  readonly objects: readonly SceneObject[];
}

/**
 * Fixed geometry constants (frame heights). The d0 of the project is 32 rows, so 1/32 is one d0
 * pixel: outlines (0.4 d0 px) and fill patterns (period 1 d0 px) blur away at d0 and are sharp
 * at 4 d0, which is the detail a cascade must learn.
 */
export const OUTLINE_WIDTH = 0.0125;
export const FILL_PATTERN_PERIOD = 1 / 32;
/** Thin dark lines at every stripe boundary of a striped background (0.25 d0 px wide). */
export const PINSTRIPE_WIDTH = 1 / 128;
/** Darkness of the pinstripe: the pinstripe colour is the darker tone times this. */
export const PINSTRIPE_SHADE = 0.45;
