import { tf } from '../backend/tf.js';

/**
 * Transformer-style sinusoidal features of scalar positions (diffusion timesteps, frame
 * indices): `positions [N] -> [N, dim]`, first half sin, second half cos, frequencies
 * 1 / 10000^(i / (dim/2)). `dim` must be even.
 */
export function sinusoidalEmbedding(positions: tf.Tensor1D, dim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const half = dim / 2;
    const freqs = new Float32Array(half);
    for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
    const args = tf.mul(tf.reshape(tf.cast(positions, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
  });
}
