import { tf } from '../backend/tf.js';

/**
 * Nearest-neighbour 2x spatial upsampling, [N, H, W, C] -> [N, 2H, 2W, C], built from reshape
 * + concat: its gradient is two slices on every backend (the cpu backend's
 * ResizeNearestNeighborGrad is wrong for batch > 1, and wasm's Tile is a slow generic loop).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  // Duplicate each pixel along the row: [N*H*W, 1, C] -> [N*H*W, 2, C] = [N, H, 2W, C]; then
  // each row: [N*H, 1, 2W*C] -> [N*H, 2, 2W*C] = [N, 2H, 2W, C].
  const pixels = tf.reshape(x, [n * h * w, 1, c]);
  const wide = tf.concat([pixels, pixels], 1);
  const rows = tf.reshape(wide, [n * h, 1, 2 * w * c]);
  return tf.reshape(tf.concat([rows, rows], 1), [n, 2 * h, 2 * w, c]);
}
