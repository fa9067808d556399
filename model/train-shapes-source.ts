import { promptForScene } from '../data/prompt-for-scene.js';
import { renderScene } from '../data/render-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import { deriveSeed, Rng } from '../util/rng.js';
import type { TrainDataSource, TrainDataSourceContext } from './train-data-source.js';

/**
 * The procedural shapes domain as a training source: example (step, index) is the scene
 * sampled from seed deriveSeed(seed, 'train-data', step, index), rendered at the model's size,
 * with its canonical prompt. Endless, never repeats in practice, and needs no state.
 */
export function trainShapesSource(
  context: TrainDataSourceContext,
  options: { minObjects?: number; maxObjects?: number } = {},
): TrainDataSource {
  const { seed, frames, height, width, maxTokens } = context;
  return {
    example(step, index) {
      const rng = new Rng(deriveSeed(seed, 'train-data', step, index));
      const scene = sampleScene(rng, {
        frames,
        aspect: width / height,
        ...(options.minObjects === undefined ? {} : { minObjects: options.minObjects }),
        ...(options.maxObjects === undefined ? {} : { maxObjects: options.maxObjects }),
      });
      const clip = renderScene(scene, { frames, height, width });
      return { clip: clip.data, tokens: tokenizePrompt(promptForScene(scene), maxTokens) };
    },
  };
}
