import { CascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';
import { objectCentre } from './object-centre.js';
import { COLOUR_NAMES, type ColourName, objectColoursFor } from './palette.js';
import type { PromptConstraints } from './prompt-constraints.js';
import {
  BACKGROUND_KINDS,
  FILL_PATTERN_PERIOD,
  type FillPattern,
  GRADIENT_DIRECTIONS,
  type Scene,
  type SceneBackground,
  type SceneObject,
  SHAPE_KINDS,
  type ShapeKind,
} from './scene.js';
import { shapeExtent } from './shape-distance.js';
import { MAX_OBJECTS } from './vocabulary.js';

export interface SampleSceneOptions {
  /** Frames over which objects are guaranteed not to overlap (default 16). */
  readonly frames?: number;
  /** Frame width / height (default 1). */
  readonly aspect?: number;
  /** Object count range, inclusive (default 1..4). */
  readonly minObjects?: number;
  readonly maxObjects?: number;
  /** Force the background and objects (e.g. from `parsePrompt`); geometry is still sampled. */
  readonly constraints?: PromptConstraints;
}

/** Smallest half-extent: 3.5 px at 32 rows. */
export const MIN_OBJECT_SIZE = 0.11;
/** Largest half-extent by object count (8 px at 32 rows for a lone object), so four still move freely. */
export const MAX_OBJECT_SIZE = [0.25, 0.2, 0.165, 0.14] as const;
/** Floor of the rare shrink fallback (about 0.2% of objects are shrunk at all). */
export const MIN_SHRUNK_SIZE = 0.8 * MIN_OBJECT_SIZE;
/** Speed range in frame heights per frame (0.13 to 0.8 px per frame at 32 rows). */
export const MIN_SPEED = 0.004;
export const MAX_SPEED = 0.025;
/** Share of objects that stand still. */
export const STATIC_PROBABILITY = 0.1;
/** Chance that a new object repeats the colour and shape of an earlier one ("two red circles"). */
export const REPEAT_PROBABILITY = 0.3;
/** Minimum gap between the bounding boxes of any two objects, at every frame (frame heights). */
export const OBJECT_GAP = 0.02;

const ATTEMPTS = 200;

/**
 * Samples a scene. The same seed and options give the same scene on every machine (only `Rng`
 * draws, in a fixed order). Objects never overlap (bounding boxes at least OBJECT_GAP apart)
 * during the first `frames` frames, so the object count is recoverable from pixels.
 */
export function sampleScene(seed: number | string | Rng, options: SampleSceneOptions = {}): Scene {
  const rng = seed instanceof Rng ? seed : new Rng(seed);
  const frames = options.frames ?? 16;
  const aspect = options.aspect ?? 1;
  const minObjects = options.minObjects ?? 1;
  const maxObjects = options.maxObjects ?? MAX_OBJECTS;
  if (!Number.isInteger(frames) || frames < 1) throw badOption('frames', frames, 'an integer >= 1');
  if (!(aspect >= 0.5 && aspect <= 4)) throw badOption('aspect', aspect, 'a number in [0.5, 4]');
  if (
    !Number.isInteger(minObjects) ||
    !Number.isInteger(maxObjects) ||
    minObjects < 1 ||
    maxObjects > MAX_OBJECTS ||
    minObjects > maxObjects
  ) {
    throw badOption(
      'minObjects/maxObjects',
      `${minObjects}..${maxObjects}`,
      `integers with 1 <= min <= max <= ${MAX_OBJECTS}`,
    );
  }

  const c = options.constraints;
  const background = sampleBackground(rng, c?.background.kind, c?.background.colour);
  const wanted: { colour: ColourName; shape: ShapeKind }[] = [];
  if (c) {
    for (const g of c.objects)
      for (let k = 0; k < g.count; k++) wanted.push({ colour: g.colour, shape: g.shape });
    if (wanted.length < 1 || wanted.length > MAX_OBJECTS) {
      throw badOption('constraints.objects', wanted.length, `1..${MAX_OBJECTS} objects in total`);
    }
  } else {
    const n = minObjects + rng.int(maxObjects - minObjects + 1);
    const colours = objectColoursFor(background.colour);
    for (let k = 0; k < n; k++) {
      const earlier = wanted.length > 0 && rng.next() < REPEAT_PROBABILITY ? rng.pick(wanted) : undefined;
      wanted.push(earlier ? { ...earlier } : { shape: rng.pick(SHAPE_KINDS), colour: rng.pick(colours) });
    }
  }

  const maxSize = MAX_OBJECT_SIZE[wanted.length - 1]!;
  const objects: SceneObject[] = [];
  for (const w of wanted) objects.push(placeObject(rng, w.shape, w.colour, maxSize, objects, frames, aspect));
  return { version: 1, aspect, background, objects };
}

function sampleBackground(
  rng: Rng,
  kind = rng.pick(BACKGROUND_KINDS),
  colour: ColourName = rng.pick(COLOUR_NAMES),
): SceneBackground {
  switch (kind) {
    case 'solid':
      return { kind, colour };
    case 'gradient':
      return { kind, colour, direction: rng.pick(GRADIENT_DIRECTIONS) };
    case 'stripes': {
      const cell = rng.uniform(1 / 16, 1 / 8);
      return {
        kind,
        colour,
        orientation: rng.next() < 0.5 ? 'horizontal' : 'vertical',
        cell,
        phase: rng.uniform(0, 2 * cell),
      };
    }
    case 'checker': {
      const cell = rng.uniform(1 / 16, 1 / 8);
      return { kind, colour, cell, phase: rng.uniform(0, 2 * cell) };
    }
  }
}

function samplePattern(rng: Rng): FillPattern {
  const u = rng.next();
  return u < 0.4 ? 'plain' : u < 0.6 ? 'hstripes' : u < 0.8 ? 'vstripes' : 'checker';
}

/**
 * Rejection sampling: position and velocity until the object stays clear of every placed one
 * over the horizon; then try standing still; then shrink (down to MIN_SHRUNK_SIZE) and retry.
 * Terminates in practice (four objects of the largest allowed size cover under a third of the
 * frame), and every draw comes from `rng` so the result is reproducible.
 */
function placeObject(
  rng: Rng,
  shape: ShapeKind,
  colour: ColourName,
  maxSize: number,
  placed: readonly SceneObject[],
  frames: number,
  aspect: number,
): SceneObject {
  let size = rng.uniform(MIN_OBJECT_SIZE, maxSize);
  const pattern = samplePattern(rng);
  const patternPhase = rng.uniform(0, FILL_PATTERN_PERIOD);
  const [ex, ey] = shapeExtent(shape);
  for (let round = 0; ; round++) {
    const moving = round === 0;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const hx = ex * size;
      const hy = ey * size;
      let vx = 0;
      let vy = 0;
      if (moving && rng.next() >= STATIC_PROBABILITY) {
        const speed = rng.uniform(MIN_SPEED, MAX_SPEED);
        const angle = rng.uniform(0, 2 * Math.PI);
        vx = speed * Math.cos(angle);
        vy = speed * Math.sin(angle);
      }
      const candidate: SceneObject = {
        shape,
        colour,
        size,
        x: rng.uniform(hx, aspect - hx),
        y: rng.uniform(hy, 1 - hy),
        vx,
        vy,
        pattern,
        patternPhase,
      };
      if (placed.every((other) => clearOverHorizon(candidate, other, frames, aspect))) return candidate;
    }
    if (round >= 1) size = Math.max(MIN_SHRUNK_SIZE, size * 0.9);
  }
}

function clearOverHorizon(a: SceneObject, b: SceneObject, frames: number, aspect: number): boolean {
  const [aex, aey] = shapeExtent(a.shape);
  const [bex, bey] = shapeExtent(b.shape);
  const needX = aex * a.size + bex * b.size + OBJECT_GAP;
  const needY = aey * a.size + bey * b.size + OBJECT_GAP;
  for (let t = 0; t < frames; t++) {
    const pa = objectCentre(a, t, aspect);
    const pb = objectCentre(b, t, aspect);
    if (Math.abs(pa.x - pb.x) < needX && Math.abs(pa.y - pb.y) < needY) return false;
  }
  return true;
}

function badOption(field: string, value: unknown, expected: string): CascadeError {
  return new CascadeError(
    'BAD_ARGUMENT',
    `sampleScene option ${field} is ${String(value)}; expected ${expected}`,
    {
      path: field,
      details: { value },
    },
  );
}
