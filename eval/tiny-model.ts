/** A tiny random-weight base model saved as a real model folder, for pipeline tests and benchmarks. */
import { VOCABULARY } from '../data/vocabulary.js';
import { saveModelDir } from '../model/model-files.js';
import { trainArchitecture } from '../model/train-presets.js';
import { VideoUNet } from '../model/video-unet.js';
import { parseVideoUNetConfig } from '../model/video-unet-config.js';

export interface TinyModelOptions {
  height?: number;
  width?: number;
  frames?: number;
  seed?: number;
}

export async function writeTinyModel(dir: string, options: TinyModelOptions = {}): Promise<void> {
  const config = parseVideoUNetConfig({
    ...trainArchitecture('tiny'),
    frames: options.frames ?? 4,
    height: options.height ?? 8,
    width: options.width ?? 8,
  });
  const unet = VideoUNet.create(config, { seed: options.seed ?? 1 });
  try {
    await saveModelDir(dir, unet, {
      schedule: { kind: 'linear' },
      vocabulary: VOCABULARY,
      trainingCommand: 'eval/tiny-model.ts (random weights)',
      seed: options.seed ?? 1,
    });
  } finally {
    unet.dispose();
  }
}
