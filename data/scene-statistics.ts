import { COLOUR_NAMES } from './palette.js';
import { sceneConstraints } from './prompt-constraints.js';
import { BACKGROUND_KINDS, FILL_PATTERNS, SHAPE_KINDS } from './scene.js';
import { type ShapesSplit, shapesEntry, shapesSceneSeed } from './shapes-sample.js';
import { MAX_OBJECTS } from './vocabulary.js';

/** Histograms over `count` sampled scenes (no rendering; a few ms per thousand scenes). */
export interface SceneStatistics {
  readonly scenes: number;
  readonly objects: number;
  readonly objectsPerScene: Readonly<Record<string, number>>;
  readonly objectShapes: Readonly<Record<string, number>>;
  readonly objectColours: Readonly<Record<string, number>>;
  readonly fillPatterns: Readonly<Record<string, number>>;
  readonly backgroundKinds: Readonly<Record<string, number>>;
  readonly backgroundColours: Readonly<Record<string, number>>;
  /** Scenes whose prompt has a group with count > 1 ("two red circles"). */
  readonly scenesWithRepeatedGroup: number;
  readonly staticObjects: number;
  /** Object half-extent in pixels at 32 rows: min, mean, max. */
  readonly sizePixelsAt32: { readonly min: number; readonly mean: number; readonly max: number };
  /** Distinct prompts among the scenes. */
  readonly distinctPrompts: number;
}

export function sceneStatistics(options: {
  seed: number;
  count: number;
  split?: ShapesSplit;
  frames?: number;
}): SceneStatistics {
  const split = options.split ?? 'train';
  const zero = (keys: readonly (string | number)[]): Record<string, number> =>
    Object.fromEntries(keys.map((k) => [String(k), 0]));
  const perScene = zero(Array.from({ length: MAX_OBJECTS }, (_, i) => i + 1));
  const shapes = zero(SHAPE_KINDS);
  const colours = zero(COLOUR_NAMES);
  const patterns = zero(FILL_PATTERNS);
  const bgKinds = zero(BACKGROUND_KINDS);
  const bgColours = zero(COLOUR_NAMES);
  const prompts = new Set<string>();
  let objects = 0;
  let repeated = 0;
  let still = 0;
  let minSize = Number.POSITIVE_INFINITY;
  let maxSize = 0;
  let sumSize = 0;
  const bump = (h: Record<string, number>, k: string | number): void => {
    h[String(k)] = (h[String(k)] ?? 0) + 1;
  };
  for (let i = 0; i < options.count; i++) {
    const { scene, prompt } = shapesEntry(i, shapesSceneSeed(options.seed, split, i), {
      frames: options.frames ?? 16,
    });
    prompts.add(prompt);
    bump(perScene, scene.objects.length);
    bump(bgKinds, scene.background.kind);
    bump(bgColours, scene.background.colour);
    if (sceneConstraints(scene).objects.some((g) => g.count > 1)) repeated++;
    for (const o of scene.objects) {
      objects++;
      bump(shapes, o.shape);
      bump(colours, o.colour);
      bump(patterns, o.pattern);
      if (o.vx === 0 && o.vy === 0) still++;
      const px = o.size * 32;
      minSize = Math.min(minSize, px);
      maxSize = Math.max(maxSize, px);
      sumSize += px;
    }
  }
  return {
    scenes: options.count,
    objects,
    objectsPerScene: perScene,
    objectShapes: shapes,
    objectColours: colours,
    fillPatterns: patterns,
    backgroundKinds: bgKinds,
    backgroundColours: bgColours,
    scenesWithRepeatedGroup: repeated,
    staticObjects: still,
    sizePixelsAt32: { min: minSize, mean: objects > 0 ? sumSize / objects : 0, max: maxSize },
    distinctPrompts: prompts.size,
  };
}
