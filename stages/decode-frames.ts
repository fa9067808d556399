import { tf } from '../backend/tf.js';
import { type Clip, createClip } from '../data/clip.js';
import type { StageContext } from './stage-context.js';

/**
 * Model space [1, T, H, W, 3] in [-1, 1] -> RGB frames in [0, 1] (clamped). A latent model would
 * run its decoder here; the shapes base works in pixel space.
 */
export async function decodeFrames(x0: tf.Tensor5D, context: StageContext): Promise<Clip> {
  const [, frames, height, width] = x0.shape;
  const pixels = tf.tidy(() => tf.clipByValue(tf.div(tf.add(x0, 1), 2), 0, 1));
  try {
    const data = (await pixels.data()) as Float32Array;
    context.onProgress?.({ stage: 'decode', fraction: 1 });
    return createClip(frames, height, width, data.slice());
  } finally {
    pixels.dispose();
  }
}
