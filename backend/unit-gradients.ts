import { type GradientExchange, sumUnits, unitSlot } from './gradient-exchange.js';
import { tf } from './tf.js';

/**
 * Data-parallel step over tensors, worker side (see gradient-exchange.ts): a rank writes the
 * gradients of each unit it claimed with writeUnitGradients, then every rank reads the sum over
 * all units with sumUnitGradients. `names` fixes the flattening order on every rank.
 */
export function writeUnitGradients(
  exchange: GradientExchange,
  unit: number,
  names: readonly string[],
  grads: Readonly<Record<string, tf.Tensor>>,
): void {
  const slot = unitSlot(exchange, unit);
  let offset = 0;
  for (const name of names) {
    const grad = grads[name];
    if (!grad) throw new Error(`writeUnitGradients: no gradient for "${name}"`);
    if (offset + grad.size > slot.length) {
      throw new RangeError(`writeUnitGradients: more gradient values than the exchange's ${slot.length}`);
    }
    slot.set(grad.dataSync() as Float32Array, offset);
    offset += grad.size;
  }
  if (offset !== slot.length) {
    throw new RangeError(`writeUnitGradients: ${offset} gradient values, the exchange holds ${slot.length}`);
  }
}

/**
 * Blocks until every rank is done, then returns new tensors (caller owns them) holding
 * `scale` times the sum of the `units` units' gradients, shaped like `shapes`.
 */
export function sumUnitGradients(
  exchange: GradientExchange,
  units: number,
  names: readonly string[],
  shapes: Readonly<Record<string, readonly number[]>>,
  scale: number,
): Record<string, tf.Tensor> {
  const flat = new Float32Array(exchange.length);
  sumUnits(exchange, units, flat);
  const out: Record<string, tf.Tensor> = {};
  let offset = 0;
  for (const name of names) {
    const shape = shapes[name]!;
    const size = shape.reduce((a, b) => a * b, 1);
    const values = flat.subarray(offset, offset + size);
    for (let i = 0; i < size; i++) values[i]! *= scale;
    out[name] = tf.tensor(values, [...shape], 'float32');
    offset += size;
  }
  return out;
}
