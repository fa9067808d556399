import { tf } from '../backend/tf.js';

export interface AttentionOptions {
  readonly heads: number;
  /** Additive logit bias per key, [N, Sk] (0 = attend, large negative = masked). */
  readonly keyBias?: tf.Tensor2D | undefined;
  /** Extra multiplier on the logits after the 1/sqrt(d_head) scaling (Attn-SF uses it). */
  readonly logitScale?: number | undefined;
}

/**
 * Scaled dot-product attention with `heads` heads: q [N, Sq, C], k and v [N, Sk, C] ->
 * [N, Sq, C]. Heads are folded into the batch so every product is a 3-D batched matMul.
 */
export function multiHeadAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  options: AttentionOptions,
): tf.Tensor3D {
  const { heads } = options;
  const [n, sq, c] = q.shape;
  const sk = k.shape[1];
  const dh = c / heads;
  const split = (x: tf.Tensor3D, s: number): tf.Tensor3D =>
    tf.reshape(tf.transpose(tf.reshape(x, [n, s, heads, dh]), [0, 2, 1, 3]), [n * heads, s, dh]);
  const qh = split(q, sq);
  const kh = split(k, sk);
  const vh = split(v, sk);
  const scale = (options.logitScale ?? 1) / Math.sqrt(dh);
  let logits: tf.Tensor3D = tf.mul(tf.matMul(qh, kh, false, true), scale);
  if (options.keyBias) {
    const biased = tf.add(tf.reshape(logits, [n, heads, sq, sk]), tf.reshape(options.keyBias, [n, 1, 1, sk]));
    logits = tf.reshape(biased, [n * heads, sq, sk]);
  }
  const out = tf.matMul(tf.softmax(logits), vh);
  return tf.reshape(tf.transpose(tf.reshape(out, [n, heads, sq, dh]), [0, 2, 1, 3]), [n, sq, c]);
}
