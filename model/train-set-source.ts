import { loadShapesSet } from '../data/load-shapes-set.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import { CascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';
import type { TrainDataSource, TrainDataSourceContext } from './train-data-source.js';

/**
 * A saved shapes set (`*.shapes.gz`) as a training source: example (step, index) is item
 * Rng(seed, step, index).int(count), i.e. uniform sampling with replacement, stateless. The
 * set must be at the architecture's size.
 */
export async function trainSetSource(
  context: TrainDataSourceContext,
  path: string,
): Promise<TrainDataSource> {
  const set = await loadShapesSet(path);
  const h = set.header;
  if (h.frames !== context.frames || h.height !== context.height || h.width !== context.width) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `Shapes set ${path} holds ${h.frames}x${h.height}x${h.width} clips, the architecture trains on ${context.frames}x${context.height}x${context.width}; export the set at that size (cascade data) or change the architecture.`,
      { path: 'data.path' },
    );
  }
  if (set.count === 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `Shapes set ${path} is empty; export a set with at least one clip.`,
      {
        path: 'data.path',
      },
    );
  }
  return {
    example(step, index) {
      const item = new Rng(deriveSeed(context.seed, 'train-set', step, index)).int(set.count);
      const sample = set.sample(item);
      return { clip: sample.clip.data, tokens: tokenizePrompt(sample.prompt, context.maxTokens) };
    },
  };
}
