import { tf } from '../backend/tf.js';
import type { Rng } from '../util/rng.js';

/**
 * Standard normal noise of the given shape drawn from the project's seeded `Rng` (not
 * tf.random*), so a seed gives the same noise on every backend.
 */
export function gaussianNoise(shape: readonly number[], rng: Rng): tf.Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return tf.tensor(rng.normals(n), [...shape], 'float32');
}
