import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CascadeError } from '../util/cascade-error.js';
import type { TrainDataSpec } from './train-config.js';
import { trainFootageSource } from './train-footage-source.js';
import { trainSetSource } from './train-set-source.js';
import { trainShapesSource } from './train-shapes-source.js';

/** One training example: a clip and its prompt tokens. */
export interface TrainExample {
  /** float32 RGB in [0, 1], [frames, height, width, 3] at the model's training size. */
  readonly clip: Float32Array;
  /** Prompt token ids (0 = PAD), length maxTokens. */
  readonly tokens: Int32Array;
}

/**
 * A source of training examples. `example(step, index)` must be a pure function of
 * (seed, step, index): a resumed run, or a run split over a different number of workers, then
 * trains on exactly the same examples, and a checkpoint needs no data-stream state.
 */
export interface TrainDataSource {
  example(step: number, index: number): TrainExample | Promise<TrainExample>;
  /** Releases files or handles (optional). */
  close?(): void | Promise<void>;
}

export interface TrainDataSourceContext {
  readonly seed: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly maxTokens: number;
  /**
   * Most clips per update over all workers in the run (the largest of the batch and the
   * curriculum phases' batches): lets a stream number its examples step * batchSize + index.
   */
  readonly batchSize: number;
  /** The `settings` of a `module` data spec (undefined for built-in sources). */
  readonly settings: unknown;
}

/** What a `module` data spec's export must be. */
export type TrainDataSourceFactory = (
  context: TrainDataSourceContext,
) => TrainDataSource | Promise<TrainDataSource>;

/** Builds the data source a spec names (in the thread that will use it). */
export async function createTrainDataSource(
  spec: TrainDataSpec,
  context: Omit<TrainDataSourceContext, 'settings'>,
): Promise<TrainDataSource> {
  switch (spec.kind) {
    case 'shapes':
      return trainShapesSource({ ...context, settings: undefined });
    case 'shapes-set':
      return trainSetSource({ ...context, settings: undefined }, spec.path);
    case 'footage':
      return trainFootageSource({ ...context, settings: undefined }, spec);
    case 'module':
      break;
  }
  const url = /^[a-z][a-z0-9+.-]*:/i.test(spec.module)
    ? spec.module
    : pathToFileURL(isAbsolute(spec.module) ? spec.module : resolve(spec.module)).href;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new CascadeError(
      'FILE_NOT_FOUND',
      `Training data module ${spec.module} could not be loaded (${error instanceof Error ? error.message : String(error)}); check data.module.`,
      { path: 'data.module', cause: error },
    );
  }
  const factory = loaded[spec.export];
  if (typeof factory !== 'function') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `Training data module ${spec.module} has no exported function "${spec.export}"; export a TrainDataSourceFactory under that name or set data.export.`,
      { path: 'data.export' },
    );
  }
  return (factory as TrainDataSourceFactory)({ ...context, settings: spec.settings });
}
