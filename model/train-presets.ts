import { PROMPT_TOKENS, VOCABULARY } from '../data/vocabulary.js';
import { CascadeError } from '../util/cascade-error.js';
import { DEFAULT_NOISE_SCHEDULE, type TrainBaseConfigInput } from './train-config.js';
import type { VideoUNetConfigInput } from './video-unet-config.js';

/** What every shapes architecture shares: the d0 clip size and the prompt vocabulary. */
const SHAPES_COMMON = {
  groups: 8,
  attentionHeads: 4,
  vocabSize: VOCABULARY.length,
  maxTokens: PROMPT_TOKENS,
  textEmbedDim: 64,
  textLayers: 1,
  timeEmbedDim: 128,
  frames: 16,
  height: 32,
  width: 32,
  prediction: 'v',
} as const;

/**
 * Named architectures for `cascade train-base --arch NAME` and the training benchmark. Costs
 * are dominated by the 32x32 level (16 frames folded into the batch), so the first channel
 * width matters most. See presets/models/shapes-base/README.md for measured step times.
 */
export const TRAIN_ARCHITECTURES: Readonly<Record<string, VideoUNetConfigInput>> = {
  'shapes-16': { ...SHAPES_COMMON, channels: [16, 32, 64], resBlocksPerLevel: 1, temporalMixing: ['conv'] },
  'shapes-24': { ...SHAPES_COMMON, channels: [24, 48, 96], resBlocksPerLevel: 1, temporalMixing: ['conv'] },
  'shapes-32': { ...SHAPES_COMMON, channels: [32, 64, 128], resBlocksPerLevel: 1, temporalMixing: ['conv'] },
  'shapes-32-attn': {
    ...SHAPES_COMMON,
    channels: [32, 64, 128],
    resBlocksPerLevel: 1,
    temporalMixing: ['conv', 'attention'],
  },
  'shapes-48': { ...SHAPES_COMMON, channels: [48, 96, 144], resBlocksPerLevel: 1, temporalMixing: ['conv'] },
  /**
   * shapes-16 plus temporal attention at the 8x8 level (all 16 frames at once, for objects that
   * keep their count) and prompt cross-attention at 16x16 too (for objects that go missing).
   */
  'shapes-16-attn': {
    ...SHAPES_COMMON,
    channels: [16, 32, 64],
    resBlocksPerLevel: 1,
    temporalMixing: ['conv', 'attention'],
    temporalAttentionLevels: 1,
    attentionLevels: 2,
  },
  /**
   * Patch size 2: the clip is folded to 16x16 x 12 channels, so the levels run at 16x16, 8x8
   * and 4x4 with 32, 64 and 128 channels. Each level's 3x3 conv costs what shapes-16's do (the
   * same multiply-adds per frame), with 4x the parameters, wider (faster) products and fewer
   * activations; spatial, cross and temporal attention at 8x8 and 4x4. Trained once (2 h, lr
   * 1e-3): worse than shapes-16 on every composition score (presets/models/shapes-base/README.md).
   */
  'shapes-p2': {
    ...SHAPES_COMMON,
    patchSize: 2,
    channels: [32, 64, 128],
    resBlocksPerLevel: 1,
    temporalMixing: ['conv', 'attention'],
    temporalAttentionLevels: 2,
    attentionLevels: 2,
  },
  /** About 40k parameters at 8x8, 4 frames: smoke tests of the CLI, not a useful model. */
  tiny: {
    ...SHAPES_COMMON,
    channels: [8, 16],
    resBlocksPerLevel: 1,
    groups: 4,
    attentionHeads: 2,
    temporalMixing: ['conv'],
    textEmbedDim: 8,
    textLayers: 0,
    timeEmbedDim: 16,
    frames: 4,
    height: 8,
    width: 8,
  },
};

/** The architecture of the shipped shapes base model (presets/models/shapes-base). */
export const SHAPES_BASE_ARCHITECTURE = 'shapes-16';

/**
 * Training defaults of the shipped shapes base model (presets/models/shapes-base/README.md):
 * single frames of 32 clips for 4000 steps (composition), then 500 steps each of 4-frame and
 * 8-frame windows of 8 clips, then 2000 steps of whole clips; frame-correlated noise (0.8); ~95
 * minutes with 2 workers on a 2-core machine.
 */
export const SHAPES_BASE_TRAINING: Omit<TrainBaseConfigInput, 'architecture'> = {
  steps: 7000,
  frameCurriculum: [
    { untilStep: 4000, frames: 1, batchSize: 32 },
    { untilStep: 4500, frames: 4 },
    { untilStep: 5000, frames: 8 },
  ],
  batchSize: 8,
  learningRate: { peak: 2e-3, warmupSteps: 100, minRatio: 0.2 },
  optimizer: { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.01 },
  gradClip: 1,
  ema: { decay: 0.995, warmup: true },
  minSnrGamma: 5,
  promptDropout: 0.1,
  schedule: { ...DEFAULT_NOISE_SCHEDULE, frameCorrelation: 0.8 },
  data: { kind: 'shapes' },
  checkpointEvery: 100,
  seed: 0,
};

export function trainArchitecture(name: string): VideoUNetConfigInput {
  const arch = TRAIN_ARCHITECTURES[name];
  if (!arch) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `Unknown architecture "${name}"; choose one of: ${Object.keys(TRAIN_ARCHITECTURES).join(', ')} (or pass a JSON file).`,
      { path: 'arch' },
    );
  }
  return arch;
}
