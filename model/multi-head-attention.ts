import { tf } from '../backend/tf.js';

export interface AttentionOptions {
  readonly heads: number;
  /** Additive logit bias per key, [N, Sk] (0 = attend, large negative = masked). */
  readonly keyBias?: tf.Tensor2D | undefined;
  /** Extra multiplier on the logits after the 1/sqrt(d_head) scaling (Attn-SF uses it). */
  readonly logitScale?: number | undefined;
  /** Most logits computed at once (default MAX_LOGITS); items go in groups above it. Same result. */
  readonly maxLogits?: number | undefined;
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
  const split = (x: tf.Tensor3D, s: number): tf.Tensor3D => {
    const items = x.shape[0];
    return tf.reshape(tf.transpose(tf.reshape(x, [items, s, heads, dh]), [0, 2, 1, 3]), [
      items * heads,
      s,
      dh,
    ]);
  };
  const scale = (options.logitScale ?? 1) / Math.sqrt(dh);
  // Attention over [m, s, dh] heads (m = items x heads) for items start..start+items-1.
  const attend = (start: number, items: number): tf.Tensor3D =>
    tf.tidy(() => {
      const part = (x: tf.Tensor3D, s: number): tf.Tensor3D =>
        split(items === n ? x : tf.slice(x, [start, 0, 0], [items, s, c]), s);
      let logits: tf.Tensor3D = tf.mul(tf.matMul(part(q, sq), part(k, sk), false, true), scale);
      if (options.keyBias) {
        const bias = items === n ? options.keyBias : tf.slice(options.keyBias, [start, 0], [items, sk]);
        const biased = tf.add(
          tf.reshape(logits, [items, heads, sq, sk]),
          tf.reshape(bias, [items, 1, 1, sk]),
        );
        logits = tf.reshape(biased, [items * heads, sq, sk]);
      }
      return tf.matMul(tf.softmax(logits), part(v, sk));
    });
  // The logits of all items at once can outgrow a wasm heap (2 GB) at higher scales: 32 frames
  // of 32x32 tokens are 4 x 1024^2 x 32 floats = 512 MB per layer. Items go in groups instead.
  const group = Math.max(1, Math.floor((options.maxLogits ?? MAX_LOGITS) / (heads * sq * sk)));
  const parts: tf.Tensor3D[] = [];
  for (let start = 0; start < n; start += group) parts.push(attend(start, Math.min(group, n - start)));
  const out = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  return tf.reshape(tf.transpose(tf.reshape(out, [n, heads, sq, dh]), [0, 2, 1, 3]), [n, sq, c]);
}

/** Most attention logits computed at once (16M floats = 64 MB; softmax makes a second copy). */
const MAX_LOGITS = 16 * 1024 * 1024;
