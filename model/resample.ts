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

/**
 * Space-to-depth: every p x p block of pixels becomes one position with p*p*C channels,
 * [N, H, W, C] -> [N, H/p, W/p, p*p*C], channel order (row in block, column in block, c).
 * Reshape + one 4-D transpose, so its gradient is the inverse transpose on every backend
 * (tfjs 4.22 has no spaceToDepth, and its depthToSpace has no gradient).
 */
export function spaceToDepth(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 1) return x;
  const [n, h, w, c] = x.shape;
  // [N*H/p, p, W/p, p*C]: a block row; swap the row-in-block and block-column axes.
  const blocks = tf.transpose(tf.reshape(x, [(n * h) / p, p, w / p, p * c]), [0, 2, 1, 3]);
  return tf.reshape(blocks, [n, h / p, w / p, p * p * c]);
}

/** The inverse of `spaceToDepth`: [N, H, W, p*p*C] -> [N, H*p, W*p, C]. */
export function depthToSpace(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 1) return x;
  const [n, h, w, pc] = x.shape;
  const c = pc / (p * p);
  const rows = tf.transpose(tf.reshape(x, [n * h, w, p, p * c]), [0, 2, 1, 3]);
  return tf.reshape(rows, [n, h * p, w * p, c]);
}
