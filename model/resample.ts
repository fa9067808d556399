import { tf } from '../backend/tf.js';

/**
 * Nearest-neighbour 2x spatial upsampling, [N, H, W, C] -> [N, 2H, 2W, C], built from
 * reshape + tile: its gradient is a plain sum on every backend (the cpu backend's
 * ResizeNearestNeighborGrad is wrong for batch > 1).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  // Rank-3 tiles (tfjs has Tile gradients only up to rank 4): duplicate each pixel along the
  // row, [N*H*W, 1, C] -> [N*H*W, 2, C] = [N, H, 2W, C]; then each row, [N*H, 1, 2W*C] ->
  // [N*H, 2, 2W*C] = [N, 2H, 2W, C].
  const wide = tf.tile(tf.reshape(x, [n * h * w, 1, c]), [1, 2, 1]);
  const tall = tf.tile(tf.reshape(wide, [n * h, 1, 2 * w * c]), [1, 2, 1]);
  return tf.reshape(tall, [n, 2 * h, 2 * w, c]);
}
