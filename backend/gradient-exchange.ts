import { CascadeError } from '../util/cascade-error.js';

/**
 * Shared memory through which data-parallel workers average their gradients. Plain data (a
 * SharedArrayBuffer plus sizes), so it is posted to every worker and shared, not copied.
 *
 * Layout: Int32 control words [count, generation, aborted, pad], then `size` float32 slots of
 * `length` values, one per worker rank.
 */
export interface GradientExchange {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  readonly length: number;
}

const COUNT = 0;
const GENERATION = 1;
const ABORTED = 2;
const CONTROL_BYTES = 16;
/** Workers re-check the abort flag this often while waiting at the barrier. */
const WAIT_SLICE_MS = 200;

export function createGradientExchange(size: number, length: number): GradientExchange {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`exchange size must be >= 1, got ${size}`);
  if (!Number.isInteger(length) || length < 1)
    throw new RangeError(`exchange length must be >= 1, got ${length}`);
  return { buffer: new SharedArrayBuffer(CONTROL_BYTES + size * length * 4), size, length };
}

/** Wakes every waiting worker with an error (a peer crashed or the run was cancelled). */
export function abortGradientExchange(exchange: GradientExchange): void {
  const control = new Int32Array(exchange.buffer, 0, 4);
  Atomics.store(control, ABORTED, 1);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

/**
 * Replaces `values` (this rank's gradients, flattened) by the mean over all ranks. Every rank
 * sums the slots in rank order, so all ranks get bit-identical results and, applying the same
 * optimiser update, keep bit-identical weights. Blocks (Atomics.wait) until all ranks arrive;
 * call it from worker threads only.
 */
export function allReduceMean(exchange: GradientExchange, rank: number, values: Float32Array): void {
  const { size, length, buffer } = exchange;
  if (values.length !== length) {
    throw new RangeError(`allReduceMean: got ${values.length} values, the exchange holds ${length}`);
  }
  if (size === 1) return;
  const slots = new Float32Array(buffer, CONTROL_BYTES, size * length);
  slots.set(values, rank * length);
  barrier(exchange);
  values.set(slots.subarray(0, length));
  for (let r = 1; r < size; r++) {
    const slot = slots.subarray(r * length, (r + 1) * length);
    for (let i = 0; i < length; i++) values[i]! += slot[i]!;
  }
  const scale = 1 / size;
  for (let i = 0; i < length; i++) values[i]! *= scale;
  // Nobody may overwrite its slot for the next step until every rank has read this one.
  barrier(exchange);
}

function barrier(exchange: GradientExchange): void {
  const control = new Int32Array(exchange.buffer, 0, 4);
  const generation = Atomics.load(control, GENERATION);
  if (Atomics.load(control, ABORTED) !== 0) throw aborted();
  if (Atomics.add(control, COUNT, 1) === exchange.size - 1) {
    Atomics.store(control, COUNT, 0);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    return;
  }
  while (Atomics.load(control, GENERATION) === generation) {
    Atomics.wait(control, GENERATION, generation, WAIT_SLICE_MS);
  }
  if (Atomics.load(control, ABORTED) !== 0) throw aborted();
}

function aborted(): CascadeError {
  return new CascadeError(
    'ABORTED',
    'Data-parallel step abandoned: a peer worker failed or the run was cancelled.',
  );
}
