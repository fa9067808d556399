/** Tiny training configs for the train-* tests: a few thousand parameters, 4x4 px, 2 frames. */

import { VOCABULARY } from '../../data/vocabulary.js';
import type { TrainBaseConfigInput } from '../../model/train-config.js';
import type { TrainStepResult } from '../../model/train-replica.js';

export const TINY_ARCHITECTURE = {
  channels: [4],
  resBlocksPerLevel: 1,
  groups: 2,
  attentionHeads: 2,
  temporalMixing: ['conv'],
  vocabSize: VOCABULARY.length,
  maxTokens: 24,
  textEmbedDim: 4,
  textLayers: 0,
  timeEmbedDim: 8,
  frames: 2,
  height: 4,
  width: 4,
};

export function tinyConfig(overrides: Partial<TrainBaseConfigInput> = {}): TrainBaseConfigInput {
  return {
    architecture: TINY_ARCHITECTURE,
    steps: 4,
    batchSize: 2,
    learningRate: { peak: 1e-3, warmupSteps: 1 },
    checkpointEvery: 100,
    seed: 5,
    ...overrides,
  };
}

export const FIXED_SOURCE = new URL('./train-fixed-source.ts', import.meta.url).href;

/** Sum of per-example losses over the units one replica computed, in unit order. */
export function lossSum(result: TrainStepResult): number {
  return [...result.units].sort((a, b) => a.unit - b.unit).reduce((sum, u) => sum + u.lossSum, 0);
}

/** Examples one replica computed in an update. */
export function examples(result: TrainStepResult): number {
  return result.units.reduce((sum, u) => sum + u.examples, 0);
}
