import { COLOUR_NAMES } from './palette.js';
import { type BackgroundKind, SHAPE_KINDS, type ShapeKind } from './scene.js';

/**
 * The fixed prompt vocabulary. Token ids are indices into VOCABULARY; id 0 is PAD, and an all-PAD
 * token row is the null prompt of classifier-free guidance. The order is part of the trained
 * model's contract: append new words at the end, never reorder.
 *
 * Grammar (words are lower case; ',' is its own token):
 *   prompt     := group ((',' | 'and') group)* 'on' background
 *   group      := count colour shape        (shape plural when count > 1)
 *   count      := 'a' | 'an' | 'one' | 'two' | 'three' | 'four'
 *   background := ('a' | 'an') [kind] colour 'background'     (kind defaults to plain)
 *   kind       := 'plain' | 'fading' | 'striped' | 'checkered'
 * At most 4 objects in total. Motion, size, position and fill pattern are not described.
 */
export const PAD = '[pad]';

export const COUNT_WORDS: Readonly<Record<string, number>> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
};

export const NUMBER_WORDS = ['', 'a', 'two', 'three', 'four'] as const;

export const SHAPE_PLURALS: Readonly<Record<ShapeKind, string>> = {
  circle: 'circles',
  square: 'squares',
  triangle: 'triangles',
  diamond: 'diamonds',
  ring: 'rings',
  cross: 'crosses',
  star: 'stars',
};

export const BACKGROUND_WORDS: Readonly<Record<BackgroundKind, string>> = {
  solid: 'plain',
  gradient: 'fading',
  stripes: 'striped',
  checker: 'checkered',
};

export const VOCABULARY: readonly string[] = [
  PAD,
  ...Object.keys(COUNT_WORDS),
  ...COLOUR_NAMES,
  ...SHAPE_KINDS,
  ...SHAPE_KINDS.map((s) => SHAPE_PLURALS[s]),
  ',',
  'and',
  'on',
  ...Object.values(BACKGROUND_WORDS),
  'background',
];

export const PAD_TOKEN_ID = 0;

/** Fixed token count per prompt; the longest grammatical prompt has 20 tokens. */
export const PROMPT_TOKENS = 24;

/** At most this many objects in a scene or prompt. */
export const MAX_OBJECTS = 4;

export const TOKEN_IDS: ReadonlyMap<string, number> = new Map(VOCABULARY.map((w, i) => [w, i]));
