import { CascadeError } from '../util/cascade-error.js';
import {
  type ResolvedShapesRender,
  renderShapesEntry,
  resolveShapesRender,
  SHAPES_SPLITS,
  type ShapesEntry,
  type ShapesRenderOptions,
  type ShapesSample,
  type ShapesSplit,
  shapesEntry,
  shapesSceneSeed,
} from './shapes-sample.js';

export interface ShapesSetOptions extends ShapesRenderOptions {
  readonly seed: number;
  readonly count: number;
  readonly split: ShapesSplit;
}

/**
 * A fixed, seeded set. `entries` (scenes and prompts) are always in memory; `samples` renders
 * clips while it is iterated, so sets too big for memory can still be streamed to disk.
 */
export interface ShapesSet extends ResolvedShapesRender {
  readonly split: ShapesSplit;
  readonly seed: number;
  readonly count: number;
  readonly entries: readonly ShapesEntry[];
  readonly samples: Iterable<ShapesSample>;
}

/**
 * A fixed set held in memory. Item i depends only on (seed, split, i, frames, aspect), so the
 * same options give the same set; train and held-out scene seeds never collide (see
 * shapesSceneSeed).
 */
export function makeShapesSet(
  options: ShapesSetOptions,
): ShapesSet & { readonly samples: readonly ShapesSample[] } {
  const lazy = shapesSet(options);
  return { ...lazy, samples: [...lazy.samples] };
}

/** The same set with lazily rendered samples. */
export function shapesSet(options: ShapesSetOptions): ShapesSet {
  const { seed, count, split } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `shapes set seed is ${seed}; expected an integer in 0..4294967295`,
      { path: 'seed' },
    );
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new CascadeError('BAD_ARGUMENT', `shapes set count is ${count}; expected a positive integer`, {
      path: 'count',
    });
  }
  if (!SHAPES_SPLITS.includes(split)) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `shapes set split is "${split}"; expected one of ${SHAPES_SPLITS.join(', ')}`,
      {
        path: 'split',
      },
    );
  }
  const render = resolveShapesRender(options);
  const entries = Array.from({ length: count }, (_, i) =>
    shapesEntry(i, shapesSceneSeed(seed, split, i), render),
  );
  return {
    ...render,
    split,
    seed,
    count,
    entries,
    samples: {
      *[Symbol.iterator]() {
        for (const entry of entries) yield renderShapesEntry(entry, render);
      },
    },
  };
}
