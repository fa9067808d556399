/** Task functions the worker-pool tests run inside worker threads. */
import { claimUnit, type GradientExchange } from '../../backend/gradient-exchange.js';
import { currentBackend } from '../../backend/select-backend.js';
import { tf } from '../../backend/tf.js';
import { sumUnitGradients, writeUnitGradients } from '../../backend/unit-gradients.js';
import type { TaskContext } from '../../backend/worker-protocol.js';
import { Rng } from '../../util/rng.js';

export async function echo(payload: unknown, context: TaskContext) {
  const backend = await currentBackend();
  return {
    payload,
    rank: context.rank,
    size: context.size,
    backend: backend?.name,
    threadNumTensors: tf.memory().numTensors,
  };
}

export function countTo(n: number, context: TaskContext): number {
  for (let i = 1; i <= n; i++) context.progress({ i });
  return n;
}

export function busy(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x++;
  return x;
}

export function fail(message: string): never {
  throw new Error(message);
}

export function crash(code: number): void {
  process.exit(code);
}

export function bytes(n: number): Float32Array {
  return new Float32Array(n).fill(1.5);
}

/** A tiny conv net trained with SGD; its state lives in the worker (per rank). */
interface TinyNet {
  vars: Record<string, tf.Variable>;
  names: string[];
}
let net: TinyNet | undefined;

function initNet(seed: number): TinyNet {
  const rng = new Rng(seed);
  const make = (shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = rng.normals(n).map((v) => v * scale);
    return tf.variable(tf.tensor(values, shape, 'float32'));
  };
  const vars = {
    conv1: make([3, 3, 3, 8], 0.2),
    conv2: make([3, 3, 8, 3], 0.2),
  };
  return { vars, names: Object.keys(vars).sort() };
}

function batch(seed: number, from: number, count: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  // Every rank draws the whole batch from the same seed and keeps its own share.
  const rng = new Rng(seed);
  const all = rng.normals(8 * 6 * 6 * 3);
  const x = tf.tidy(() => tf.slice(tf.tensor4d(all, [8, 6, 6, 3]), [from, 0, 0, 0], [count, 6, 6, 3]));
  const y = tf.tidy(() => tf.tanh(tf.reverse(x, 2)) as tf.Tensor4D);
  return { x, y };
}

function loss(x: tf.Tensor4D, y: tf.Tensor4D, vars: Record<string, tf.Variable>): tf.Scalar {
  const h = tf.relu(tf.conv2d(x, vars.conv1 as tf.Tensor4D, 1, 'same'));
  const out = tf.conv2d(h, vars.conv2 as tf.Tensor4D, 2, 'same');
  return tf.mean(tf.square(tf.sub(out, tf.avgPool(y, 2, 2, 'same'))));
}

/** Examples per unit of the 8-example batch: 4 units, which the ranks pull from the exchange. */
const UNIT = 2;

/**
 * Trains `steps` SGD steps on the units of each batch this rank claims (a rank may also be
 * slowed down by `delayMs` per unit); returns the weights after every step and the units it took.
 */
export function trainDataParallel(payload: {
  seed: number;
  steps: number;
  lr: number;
  exchange: GradientExchange;
  delayMs?: number;
}): { snapshots: Float32Array[]; units: number[][]; numTensors: number } {
  net = initNet(payload.seed);
  const before = tf.memory().numTensors;
  const units = 8 / UNIT;
  const shapes = Object.fromEntries(net.names.map((n) => [n, net!.vars[n]!.shape]));
  const snapshots: Float32Array[] = [];
  const taken: number[][] = [];
  for (let step = 0; step < payload.steps; step++) {
    const mine: number[] = [];
    for (
      let unit = claimUnit(payload.exchange, units);
      unit >= 0;
      unit = claimUnit(payload.exchange, units)
    ) {
      mine.push(unit);
      if (payload.delayMs) busy(payload.delayMs);
      const { x, y } = batch(payload.seed * 1000 + step, unit * UNIT, UNIT);
      const { value, grads: byVariable } = tf.variableGrads(() => loss(x, y, net!.vars));
      const grads = Object.fromEntries(net.names.map((n) => [n, byVariable[net!.vars[n]!.name]!]));
      writeUnitGradients(payload.exchange, unit, net.names, grads);
      tf.dispose([value, x, y, ...Object.values(grads)]);
    }
    taken.push(mine);
    // Each unit's loss is the mean over its examples: the batch mean is the mean over units.
    const mean = sumUnitGradients(payload.exchange, units, net.names, shapes, 1 / units);
    tf.tidy(() => {
      for (const name of net!.names) {
        const v = net!.vars[name]!;
        v.assign(tf.sub(v, tf.mul(mean[name]!, payload.lr)));
      }
    });
    tf.dispose(Object.values(mean));
    snapshots.push(new Float32Array(net.names.flatMap((n) => Array.from(net!.vars[n]!.dataSync()))));
  }
  const numTensors = tf.memory().numTensors - before;
  tf.dispose(Object.values(net.vars));
  net = undefined;
  return { snapshots, units: taken, numTensors };
}
