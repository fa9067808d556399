/**
 * Worker-pool task of the kernel benchmark: data-parallel training steps of the reference net.
 * The global batch is cut into units of one clip; ranks pull units from the shared exchange,
 * every rank sums the units' gradients and applies the same SGD update (as in model training).
 */
import { claimUnit, type GradientExchange } from '../backend/gradient-exchange.js';
import { tf } from '../backend/tf.js';
import { sumUnitGradients, writeUnitGradients } from '../backend/unit-gradients.js';
import { createReferenceNet, REFERENCE_NET_DEFAULTS } from './reference-net.js';

export interface ReferenceStepsPayload {
  /** Clips per step, one unit each. */
  readonly globalClips: number;
  readonly steps: number;
  readonly warmups: number;
  readonly exchange: GradientExchange;
}

/**
 * Returns the wall time of each timed step (ms) on this rank, the units it computed per step,
 * and a checksum of the final weights.
 */
export function referenceDataParallelSteps(payload: ReferenceStepsPayload): {
  stepMs: number[];
  units: number[];
  weightSum: number;
} {
  const units = payload.globalClips;
  const net = createReferenceNet({ ...REFERENCE_NET_DEFAULTS, clips: 1 }, 1);
  const batches = Array.from({ length: units }, (_, unit) => net.makeBatch(100 + unit));
  const names = net.variables.map((v) => v.name);
  const shapes = Object.fromEntries(net.variables.map((v) => [v.name, v.shape]));
  const stepMs: number[] = [];
  const taken: number[] = [];
  try {
    for (let i = 0; i < payload.warmups + payload.steps; i++) {
      const start = performance.now();
      let mine = 0;
      for (
        let unit = claimUnit(payload.exchange, units);
        unit >= 0;
        unit = claimUnit(payload.exchange, units)
      ) {
        const { value, grads } = tf.variableGrads(
          () => net.loss(batches[unit]!),
          net.variables as tf.Variable[],
        );
        writeUnitGradients(payload.exchange, unit, names, grads);
        tf.dispose([value, ...Object.values(grads)]);
        mine += 1;
      }
      const mean = sumUnitGradients(payload.exchange, units, names, shapes, 1 / units);
      tf.tidy(() => {
        for (const v of net.variables) v.assign(tf.sub(v, tf.mul(mean[v.name]!, 1e-3)));
      });
      tf.dispose(Object.values(mean));
      if (i >= payload.warmups) {
        stepMs.push(performance.now() - start);
        taken.push(mine);
      }
    }
    const weightSum = tf.tidy(() => tf.addN(net.variables.map((v) => tf.sum(v))).dataSync()[0]!);
    return { stepMs, units: taken, weightSum };
  } finally {
    tf.dispose(batches.flatMap((b) => [b.x, b.t, b.target]));
    net.dispose();
  }
}

export interface ScalingProbePayload {
  /** 'gemm': products of cache-resident 256x256 matrices; 'stream': adds of 64 MB arrays. */
  readonly kind: 'gemm' | 'stream';
  readonly reps: number;
}

/**
 * A fixed amount of one kind of work, for the machine's own 2-core scaling: the kernel bench
 * runs it on one worker alone and on two workers at once and compares the throughput.
 * Returns the wall time (ms) of the timed repetitions on this rank.
 */
export function scalingProbe(payload: ScalingProbePayload): { ms: number } {
  const size = payload.kind === 'gemm' ? [256, 256] : [4096, 4096];
  const a = tf.randomUniform(size);
  const b = tf.randomUniform(size);
  // wasm kernels run synchronously: the result exists when the op returns.
  const once = (): void => tf.dispose(payload.kind === 'gemm' ? tf.matMul(a, b) : tf.add(a, b));
  try {
    once();
    const start = performance.now();
    for (let i = 0; i < payload.reps; i++) once();
    return { ms: performance.now() - start };
  } finally {
    tf.dispose([a, b]);
  }
}
