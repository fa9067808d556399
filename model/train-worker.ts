/**
 * Worker-pool tasks of data-parallel training (see train-base.ts). Each worker thread keeps
 * one TrainReplica between tasks; only small payloads travel per update (the step happens in
 * every worker from the same state, and each builds its own share of the batch).
 */
import type { GradientExchange } from '../backend/gradient-exchange.js';
import { tf } from '../backend/tf.js';
import type { TaskContext } from '../backend/worker-protocol.js';
import { CascadeError } from '../util/cascade-error.js';
import { readTrainCheckpoint } from './train-checkpoint.js';
import { parseTrainBaseConfig } from './train-config.js';
import { TrainReplica, type TrainState, type TrainStepResult } from './train-replica.js';

let replica: TrainReplica | undefined;

export interface InitReplicaPayload {
  readonly config: unknown;
  readonly exchange?: GradientExchange | undefined;
  /** Resume from this checkpoint file (every worker reads it itself). */
  readonly checkpointPath?: string | undefined;
  readonly microBatch?: number | undefined;
}

export interface InitReplicaResult {
  readonly step: number;
  readonly parameters: number;
  readonly backend: string;
}

export async function initReplica(
  payload: InitReplicaPayload,
  context: TaskContext,
): Promise<InitReplicaResult> {
  await disposeReplica();
  const resolved = parseTrainBaseConfig(payload.config);
  const state = payload.checkpointPath
    ? (await readTrainCheckpoint(payload.checkpointPath)).state
    : undefined;
  replica = await TrainReplica.create(resolved, {
    rank: context.rank,
    size: context.size,
    exchange: payload.exchange,
    state,
    microBatch: payload.microBatch,
  });
  return { step: replica.step, parameters: replica.layout.size, backend: tf.getBackend() };
}

/** Applies the update numbered `step` (a guard: every rank must be at the same step). */
export async function trainReplicaStep(payload: {
  step: number;
  totalSteps?: number | undefined;
}): Promise<TrainStepResult> {
  const r = live();
  if (r.step !== payload.step) {
    throw new CascadeError(
      'INTERNAL',
      `Replica is at step ${r.step} but was asked for update ${payload.step}.`,
    );
  }
  return r.trainStep({ totalSteps: payload.totalSteps });
}

/** The full state, for a checkpoint (typed arrays are moved to the caller, not copied). */
export function replicaState(): TrainState & { numTensors: number } {
  return { ...live().getState(), numTensors: tf.memory().numTensors };
}

export async function disposeReplica(): Promise<void> {
  const r = replica;
  replica = undefined;
  await r?.dispose();
}

function live(): TrainReplica {
  if (!replica)
    throw new CascadeError('INTERNAL', 'No training replica in this worker; run initReplica first.');
  return replica;
}
