import {
  makeShapesSample,
  type ShapesRenderOptions,
  type ShapesSample,
  shapesSceneSeed,
} from './shapes-sample.js';

/**
 * An endless, seeded stream of training samples (clip, prompt, tokens) for the base model.
 * Sample i depends only on (seed, i), never on earlier draws, so a resumed run continues the
 * stream exactly with `startIndex`. Scene seeds come from the train split (even), so the
 * stream never shows a held-out scene.
 */
export function* shapesStream(
  seed: number,
  options: ShapesRenderOptions & { readonly startIndex?: number } = {},
): Generator<ShapesSample, never, undefined> {
  for (let index = options.startIndex ?? 0; ; index++) {
    yield makeShapesSample(index, shapesSceneSeed(seed, 'train', index, 'stream'), options);
  }
}
