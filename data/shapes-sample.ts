import { deriveSeed } from '../util/rng.js';
import type { Clip } from './clip.js';
import { promptForScene } from './prompt-for-scene.js';
import { renderScene } from './render-scene.js';
import { sampleScene } from './sample-scene.js';
import type { Scene } from './scene.js';
import { tokenizePrompt } from './tokenize-prompt.js';

export type ShapesSplit = 'train' | 'heldout';

export const SHAPES_SPLITS: readonly ShapesSplit[] = ['train', 'heldout'];

/** One training or evaluation example of the shapes domain. */
export interface ShapesSample {
  /** Position in its set or stream. */
  readonly index: number;
  /** Scene seed: `sampleScene(seed, { frames, aspect })` reproduces the scene. */
  readonly seed: number;
  readonly scene: Scene;
  readonly prompt: string;
  /** PROMPT_TOKENS token ids (Int32Array, PAD = 0). */
  readonly tokens: Int32Array;
  /** [frames, height, width, 3] in [0, 1]. */
  readonly clip: Clip;
}

export interface ShapesRenderOptions {
  /** Default 32. */
  readonly height?: number;
  /** Default: height * aspect, rounded. */
  readonly width?: number;
  /** Default 16. */
  readonly frames?: number;
  /** Scene aspect (width / height); default width / height when width is given, else 1. */
  readonly aspect?: number;
}

export interface ResolvedShapesRender {
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  readonly aspect: number;
}

export function resolveShapesRender(options: ShapesRenderOptions = {}): ResolvedShapesRender {
  const height = options.height ?? 32;
  const aspect = options.aspect ?? (options.width === undefined ? 1 : options.width / height);
  return {
    height,
    width: options.width ?? Math.round(height * aspect),
    frames: options.frames ?? 16,
    aspect,
  };
}

/**
 * The scene seed of item `index` of a split. Train seeds are even and held-out seeds odd, so the
 * two splits can never share a scene seed, whatever the base seeds and indices. `source`
 * separates fixed sets ('set') from the endless training stream ('stream').
 */
export function shapesSceneSeed(
  seed: number,
  split: ShapesSplit,
  index: number,
  source: 'set' | 'stream' = 'set',
): number {
  const h = deriveSeed('shapes', source, split, seed, index);
  return ((h & ~1) | (split === 'heldout' ? 1 : 0)) >>> 0;
}

/** A sample without its clip: cheap (microseconds), enough for headers and prompt lists. */
export type ShapesEntry = Pick<ShapesSample, 'index' | 'seed' | 'scene' | 'prompt'>;

/** Samples and describes the scene of one seed (no rendering). */
export function shapesEntry(index: number, seed: number, options: ShapesRenderOptions = {}): ShapesEntry {
  const r = resolveShapesRender(options);
  const scene = sampleScene(seed, { frames: r.frames, aspect: r.aspect });
  return { index, seed, scene, prompt: promptForScene(scene) };
}

/** Tokenises and renders an entry. */
export function renderShapesEntry(entry: ShapesEntry, options: ShapesRenderOptions = {}): ShapesSample {
  return {
    ...entry,
    tokens: tokenizePrompt(entry.prompt),
    clip: renderScene(entry.scene, resolveShapesRender(options)),
  };
}

/** Samples, describes, tokenises and renders the scene of one seed. */
export function makeShapesSample(
  index: number,
  seed: number,
  options: ShapesRenderOptions = {},
): ShapesSample {
  return renderShapesEntry(shapesEntry(index, seed, options), options);
}
