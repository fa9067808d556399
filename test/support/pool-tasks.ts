/** Task functions the worker-pool tests run inside worker threads. */
import { averageGradients } from '../../backend/average-gradients.js';
import type { GradientExchange } from '../../backend/gradient-exchange.js';
import { currentBackend } from '../../backend/select-backend.js';
import { tf } from '../../backend/tf.js';
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

/** Trains `steps` SGD steps on this rank's share of each batch; returns the weights after every step. */
export function trainDataParallel(
  payload: { seed: number; steps: number; lr: number; exchange: GradientExchange },
  context: TaskContext,
): { snapshots: Float32Array[]; numTensors: number } {
  net = initNet(payload.seed);
  const before = tf.memory().numTensors;
  const per = 8 / context.size;
  const snapshots: Float32Array[] = [];
  for (let step = 0; step < payload.steps; step++) {
    const { x, y } = batch(payload.seed * 1000 + step, context.rank * per, per);
    const { value, grads: byVariable } = tf.variableGrads(() => loss(x, y, net!.vars));
    const grads = Object.fromEntries(net.names.map((n) => [n, byVariable[net!.vars[n]!.name]!]));
    const averaged = averageGradients(payload.exchange, context.rank, net.names, grads);
    tf.tidy(() => {
      for (const name of net!.names) {
        const v = net!.vars[name]!;
        v.assign(tf.sub(v, tf.mul(averaged[name]!, payload.lr)));
      }
    });
    tf.dispose([value, x, y, ...Object.values(grads), ...Object.values(averaged)]);
    snapshots.push(new Float32Array(net.names.flatMap((n) => Array.from(net!.vars[n]!.dataSync()))));
  }
  const numTensors = tf.memory().numTensors - before;
  tf.dispose(Object.values(net.vars));
  net = undefined;
  return { snapshots, numTensors };
}
