import { allReduceMean, type GradientExchange } from './gradient-exchange.js';
import { tf } from './tf.js';

/**
 * Data-parallel step, worker side: flattens this rank's gradients (in the fixed `names` order),
 * averages them with every other rank through the shared exchange, and returns new tensors of
 * the averaged gradients. The caller keeps ownership of `grads` and of the result.
 */
export function averageGradients(
  exchange: GradientExchange,
  rank: number,
  names: readonly string[],
  grads: Readonly<Record<string, tf.Tensor>>,
): Record<string, tf.Tensor> {
  const flat = new Float32Array(exchange.length);
  let offset = 0;
  for (const name of names) {
    const grad = grads[name];
    if (!grad) throw new Error(`averageGradients: no gradient for "${name}"`);
    flat.set(grad.dataSync() as Float32Array, offset);
    offset += grad.size;
  }
  if (offset !== exchange.length) {
    throw new RangeError(
      `averageGradients: ${offset} gradient values, the exchange holds ${exchange.length}`,
    );
  }
  allReduceMean(exchange, rank, flat);
  const out: Record<string, tf.Tensor> = {};
  offset = 0;
  for (const name of names) {
    const shape = grads[name]!.shape;
    const size = grads[name]!.size;
    out[name] = tf.tensor(flat.subarray(offset, offset + size), shape, 'float32');
    offset += size;
  }
  return out;
}
