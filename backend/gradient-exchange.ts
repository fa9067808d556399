import { CascadeError } from '../util/cascade-error.js';

/**
 * Shared memory through which data-parallel workers sum their gradients. Plain data (a
 * SharedArrayBuffer plus sizes), so it is posted to every worker and shared, not copied.
 *
 * A step's batch is cut into numbered units of work, the same cut whatever the number of
 * workers. Ranks pull units from a shared counter (a rank slowed down by the host simply takes
 * fewer), write each unit's gradient into that unit's slot, and then every rank sums the slots
 * in unit order. The result does not depend on which rank computed which unit, nor on how many
 * ranks there are: every rank gets bit-identical gradients, and so does a single worker.
 *
 * Layout: Int32 control words [count, generation, aborted, next unit], then `units` float32
 * slots of `length` values.
 */
export interface GradientExchange {
  readonly buffer: SharedArrayBuffer;
  /** Workers that meet at the barrier. */
  readonly ranks: number;
  /** Most units of work in one step (one gradient slot each). */
  readonly units: number;
  /** Gradient values per slot. */
  readonly length: number;
}

const COUNT = 0;
const GENERATION = 1;
const ABORTED = 2;
const NEXT_UNIT = 3;
const CONTROL_BYTES = 16;
/** Workers re-check the abort flag this often while waiting at the barrier. */
const WAIT_SLICE_MS = 200;

export function createGradientExchange(ranks: number, units: number, length: number): GradientExchange {
  for (const [name, value] of [
    ['ranks', ranks],
    ['units', units],
    ['length', length],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`exchange ${name} must be >= 1, got ${value}`);
  }
  return { buffer: new SharedArrayBuffer(CONTROL_BYTES + units * length * 4), ranks, units, length };
}

/** Wakes every waiting worker with an error (a peer crashed or the run was cancelled). */
export function abortGradientExchange(exchange: GradientExchange): void {
  const control = new Int32Array(exchange.buffer, 0, 4);
  Atomics.store(control, ABORTED, 1);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

/**
 * The next unit of this step's `units` for the calling rank to compute, or -1 when every unit
 * is taken (then call sumUnits).
 */
export function claimUnit(exchange: GradientExchange, units: number): number {
  checkUnits(exchange, units);
  const control = new Int32Array(exchange.buffer, 0, 4);
  if (Atomics.load(control, ABORTED) !== 0) throw aborted();
  const unit = Atomics.add(control, NEXT_UNIT, 1);
  return unit < units ? unit : -1;
}

/** The gradient slot of `unit` (a view into shared memory): the rank that claimed it fills it. */
export function unitSlot(exchange: GradientExchange, unit: number): Float32Array {
  checkUnits(exchange, unit + 1);
  return new Float32Array(exchange.buffer, CONTROL_BYTES + unit * exchange.length * 4, exchange.length);
}

/**
 * Waits until every rank has finished its units, then sets `out` to the sum of the slots of
 * units 0..units-1, added in that order (bit-identical on every rank). Blocks (Atomics.wait)
 * while other ranks still compute: call it from worker threads, or with one rank from anywhere.
 */
export function sumUnits(exchange: GradientExchange, units: number, out: Float32Array): void {
  checkUnits(exchange, units);
  if (out.length !== exchange.length) {
    throw new RangeError(`sumUnits: got ${out.length} values, the exchange holds ${exchange.length}`);
  }
  // Every rank has run out of units when it arrives, so the last one resets the counter.
  barrier(exchange, () => Atomics.store(new Int32Array(exchange.buffer, 0, 4), NEXT_UNIT, 0));
  out.fill(0);
  for (let unit = 0; unit < units; unit++) {
    const slot = unitSlot(exchange, unit);
    for (let i = 0; i < out.length; i++) out[i]! += slot[i]!;
  }
  // Nobody may overwrite a slot in the next step until every rank has read this one.
  barrier(exchange, () => undefined);
}

function checkUnits(exchange: GradientExchange, units: number): void {
  if (!Number.isInteger(units) || units < 1 || units > exchange.units) {
    throw new RangeError(`unit count ${units} is outside the exchange's 1..${exchange.units}`);
  }
}

function barrier(exchange: GradientExchange, lastArrives: () => void): void {
  const control = new Int32Array(exchange.buffer, 0, 4);
  const generation = Atomics.load(control, GENERATION);
  if (Atomics.load(control, ABORTED) !== 0) throw aborted();
  if (Atomics.add(control, COUNT, 1) === exchange.ranks - 1) {
    lastArrives();
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
