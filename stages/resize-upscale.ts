import { tf } from '../backend/tf.js';
import { createClip } from '../data/clip.js';
import { resampleClip } from '../data/resample-clip.js';
import type { CascadeUpscaler } from './cascade-upscaler.js';

/**
 * The `upsample` baseline: the base output resized with a classical filter (bilinear, bicubic
 * or Lanczos-3), no model involved. Works in [0, 1] pixel space and maps back to [-1, 1].
 */
export const resizeUpscale: CascadeUpscaler<'resize'> = async (previous, stage, context) => {
  const [, frames, height, width] = previous.shape;
  const pixels = tf.tidy(() => tf.clipByValue(tf.div(tf.add(previous, 1), 2), 0, 1));
  const data = (await pixels.data()) as Float32Array;
  pixels.dispose();
  const resized = resampleClip(
    createClip(frames, height, width, data),
    stage.height,
    stage.width,
    stage.filter,
  );
  context.onProgress?.({ stage: `cascade-${stage.index}`, fraction: 1 });
  return tf.tidy(() =>
    tf.sub(tf.mul(tf.tensor(resized.data, [1, frames, stage.height, stage.width, 3], 'float32'), 2), 1),
  ) as tf.Tensor5D;
};
