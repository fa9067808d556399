import { CascadeError } from '../util/cascade-error.js';
import { type CheckpointArray, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { parseTrainBaseConfig, type TrainBaseConfig } from './train-config.js';
import { joinFlat, splitFlat, trainParamLayout } from './train-param-layout.js';
import type { TrainState } from './train-replica.js';
import { videoUNetParamSpecs } from './video-unet.js';

export const TRAIN_CHECKPOINT_KIND = 'self-cascade/train-base';
export const TRAIN_CHECKPOINT_VERSION = 1;

/** The JSON state stored with the arrays. */
interface TrainCheckpointState {
  readonly kind: typeof TRAIN_CHECKPOINT_KIND;
  readonly version: typeof TRAIN_CHECKPOINT_VERSION;
  readonly step: number;
  readonly optimizerStep: number;
  readonly emaStep: number;
  readonly elapsedSeconds: number;
  readonly commands: readonly string[];
  readonly config: TrainBaseConfig;
}

/** Everything needed to continue a run bit-for-bit. */
export interface TrainCheckpoint {
  readonly config: TrainBaseConfig;
  readonly state: TrainState;
  /** Wall time spent training before this checkpoint, summed over resumed sessions. */
  readonly elapsedSeconds: number;
  /** The command line of every session of the run, first (the one that started it) first. */
  readonly commands: readonly string[];
}

const GROUPS = ['weights', 'adam.m', 'adam.v', 'ema'] as const;

/**
 * Writes a checkpoint (model/checkpoint.ts: one safetensors file) with arrays
 * `weights/<name>`, `adam.m/<name>`, `adam.v/<name>`, `ema/<name>` (float32, exact) and a JSON
 * state holding the config, the update counters and the elapsed time. The data stream needs no state: every
 * example is a function of (seed, step, index). Atomic (temp file + fsync + rename), so an
 * interrupted write leaves the previous checkpoint intact.
 */
export async function writeTrainCheckpoint(path: string, checkpoint: TrainCheckpoint): Promise<void> {
  const { architecture } = parseTrainBaseConfig(checkpoint.config);
  const layout = trainParamLayout(videoUNetParamSpecs(architecture));
  const { state } = checkpoint;
  const arrays = new Map<string, CheckpointArray>();
  const flats: Record<(typeof GROUPS)[number], Float32Array> = {
    weights: state.weights,
    'adam.m': state.optimizer.m,
    'adam.v': state.optimizer.v,
    ema: state.ema.values,
  };
  for (const group of GROUPS) {
    for (const [name, data] of splitFlat(layout, flats[group])) {
      arrays.set(`${group}/${name}`, { shape: layout.shapes.get(name)!, data });
    }
  }
  const meta: TrainCheckpointState = {
    kind: TRAIN_CHECKPOINT_KIND,
    version: TRAIN_CHECKPOINT_VERSION,
    step: state.step,
    optimizerStep: state.optimizer.step,
    emaStep: state.ema.step,
    elapsedSeconds: checkpoint.elapsedSeconds,
    commands: checkpoint.commands,
    config: checkpoint.config,
  };
  await writeCheckpoint(path, arrays, meta);
}

/** Reads a checkpoint written by `writeTrainCheckpoint`; INVALID_WEIGHTS naming the file on any mismatch. */
export async function readTrainCheckpoint(path: string): Promise<TrainCheckpoint> {
  const file = await readCheckpoint<Partial<TrainCheckpointState>>(path);
  const meta = file.state ?? {};
  const fail = (what: string): never => {
    throw new CascadeError('INVALID_WEIGHTS', `${path} is not a usable training checkpoint: ${what}.`, {
      path,
    });
  };
  if (meta.kind !== TRAIN_CHECKPOINT_KIND)
    fail(`its kind is ${JSON.stringify(meta.kind)}, expected "${TRAIN_CHECKPOINT_KIND}"`);
  if (meta.version !== TRAIN_CHECKPOINT_VERSION) {
    fail(`it has version ${meta.version}, this program reads version ${TRAIN_CHECKPOINT_VERSION}`);
  }
  const counter = (key: 'step' | 'optimizerStep' | 'emaStep'): number => {
    const value = meta[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      fail(`state.${key} is ${JSON.stringify(value)}, expected an integer >= 0`);
    }
    return value as number;
  };
  const rawConfig = meta.config;
  const { config, architecture } = parseTrainBaseConfig(rawConfig, `${path}#config`);
  const layout = trainParamLayout(videoUNetParamSpecs(architecture));
  const groups = new Map<string, Map<string, Float32Array>>(GROUPS.map((g) => [g, new Map()]));
  for (const [key, data] of file.arrays) {
    const slash = key.indexOf('/');
    const group = groups.get(key.slice(0, slash));
    if (slash < 0 || !group) fail(`array "${key}" is not in any of the groups ${GROUPS.join(', ')}`);
    group!.set(key.slice(slash + 1), data);
  }
  const flat = (group: (typeof GROUPS)[number]): Float32Array => {
    try {
      return joinFlat(layout, groups.get(group)!, `${path} (${group})`);
    } catch (error) {
      if (error instanceof CascadeError)
        throw new CascadeError(error.code, error.message, { path, cause: error });
      throw error;
    }
  };
  const elapsedSeconds = meta.elapsedSeconds;
  return {
    config,
    elapsedSeconds:
      typeof elapsedSeconds === 'number' && Number.isFinite(elapsedSeconds) ? elapsedSeconds : 0,
    commands: Array.isArray(meta.commands)
      ? meta.commands.filter((c): c is string => typeof c === 'string')
      : [],
    state: {
      step: counter('step'),
      weights: flat('weights'),
      optimizer: { step: counter('optimizerStep'), m: flat('adam.m'), v: flat('adam.v') },
      ema: { step: counter('emaStep'), values: flat('ema') },
    },
  };
}
