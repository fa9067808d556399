import { levelScale, type VideoUNetConfig } from './video-unet-config.js';

/**
 * The Attn-SF baseline's logit multiplier for spatial self-attention at inference size
 * height x width: sqrt(log n_test / log n_train), where n is the number of positions the
 * attention sees (the lowest level's h*w) at test and at training resolution. 1 at the
 * training size; pass it as `attentionLogitScale` to `VideoUNet.apply`.
 */
export function attnSfScale(config: VideoUNetConfig, height: number, width: number): number {
  const factor = levelScale(config, config.channels.length - 1) ** 2;
  const nTrain = (config.height * config.width) / factor;
  const nTest = (height * width) / factor;
  if (nTrain <= 1 || nTest <= 1) return 1;
  return Math.sqrt(Math.log(nTest) / Math.log(nTrain));
}
