import { makeShapesSample, shapesSceneSeed } from '../data/shapes-sample.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import type { TrainDataSource, TrainDataSourceContext } from './train-data-source.js';

/**
 * The procedural shapes domain as a training source: example (step, index) is item
 * step * batchSize + index of `shapesStream(seed)` (data/shapes-stream.ts): train-split scene
 * seeds only, so no held-out evaluation scene is ever trained on. Rendered at the model's size;
 * endless and stateless.
 */
export function trainShapesSource(context: TrainDataSourceContext): TrainDataSource {
  const { seed, frames, height, width, maxTokens, batchSize } = context;
  return {
    example(step, index) {
      const streamIndex = step * batchSize + index;
      const sample = makeShapesSample(streamIndex, shapesSceneSeed(seed, 'train', streamIndex, 'stream'), {
        frames,
        height,
        width,
      });
      return { clip: sample.clip.data, tokens: tokenizePrompt(sample.prompt, maxTokens) };
    },
  };
}
