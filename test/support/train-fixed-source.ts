/** A training data source for tests: every example is the same clip and prompt (an overfit problem). */
import { tokenizePrompt } from '../../data/tokenize-prompt.js';
import type { TrainDataSourceFactory } from '../../model/train-data-source.js';

export const createTrainDataSource: TrainDataSourceFactory = (context) => {
  const { frames, height, width, maxTokens } = context;
  const clip = new Float32Array(frames * height * width * 3);
  // Left half red, right half blue; the boundary moves one pixel per frame.
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = ((t * height + y) * width + x) * 3;
        const left = (x + t) % width < width / 2;
        clip[i] = left ? 0.9 : 0.1;
        clip[i + 2] = left ? 0.1 : 0.9;
      }
    }
  }
  const tokens = tokenizePrompt('a red square on a plain blue background', maxTokens);
  // settings.wrongSize: a broken source, for the error path.
  const broken = (context.settings as { wrongSize?: boolean } | undefined)?.wrongSize === true;
  return { example: () => ({ clip: broken ? clip.subarray(1) : clip, tokens }) };
};
