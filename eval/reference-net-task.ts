/**
 * Worker-pool task of the kernel benchmark: data-parallel training steps of the reference net.
 * Each rank trains on its share of the global batch, gradients are averaged through the shared
 * exchange, and every rank applies the same SGD update.
 */
import { averageGradients } from '../backend/average-gradients.js';
import type { GradientExchange } from '../backend/gradient-exchange.js';
import { tf } from '../backend/tf.js';
import type { TaskContext } from '../backend/worker-protocol.js';
import { createReferenceNet, REFERENCE_NET_DEFAULTS } from './reference-net.js';

export interface ReferenceStepsPayload {
  readonly globalClips: number;
  readonly steps: number;
  readonly warmups: number;
  readonly exchange: GradientExchange;
}

/** Returns the wall time of each timed step (ms) on this rank, and a checksum of the final weights. */
export function referenceDataParallelSteps(
  payload: ReferenceStepsPayload,
  context: TaskContext,
): { stepMs: number[]; weightSum: number } {
  const clips = payload.globalClips / context.size;
  const net = createReferenceNet({ ...REFERENCE_NET_DEFAULTS, clips }, 1);
  const batch = net.makeBatch(100 + context.rank);
  const names = net.variables.map((v) => v.name);
  const stepMs: number[] = [];
  try {
    for (let i = 0; i < payload.warmups + payload.steps; i++) {
      const start = performance.now();
      const { value, grads } = tf.variableGrads(() => net.loss(batch), net.variables as tf.Variable[]);
      const averaged = averageGradients(payload.exchange, context.rank, names, grads);
      tf.tidy(() => {
        for (const v of net.variables) v.assign(tf.sub(v, tf.mul(averaged[v.name]!, 1e-3)));
      });
      tf.dispose([value, ...Object.values(grads), ...Object.values(averaged)]);
      if (i >= payload.warmups) stepMs.push(performance.now() - start);
    }
    const weightSum = tf.tidy(() => tf.addN(net.variables.map((v) => tf.sum(v))).dataSync()[0]!);
    return { stepMs, weightSum };
  } finally {
    tf.dispose([batch.x, batch.t, batch.target]);
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
