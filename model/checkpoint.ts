/**
 * Training checkpoints: named Float32Arrays (parameters, optimiser moments, ...) plus a JSON
 * state object (step, RNG state, optimiser hyper-parameters) in one safetensors file, the
 * state in the header metadata under `state`. Written atomically; read back bit-exactly
 * (bytes are copied, never converted, so even NaN payloads survive).
 */
import { CascadeError } from '../util/cascade-error.js';
import { readSafetensors, type SafetensorsInput, writeSafetensors } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'self-cascade/checkpoint/1';

/** A flat array (stored as 1-D) or an array with its shape. */
export type CheckpointArray =
  | Float32Array
  | { readonly data: Float32Array; readonly shape: readonly number[] };

export interface Checkpoint<State = unknown> {
  /** In file order. */
  readonly arrays: Map<string, Float32Array>;
  readonly shapes: Map<string, number[]>;
  readonly state: State;
}

/**
 * Writes the arrays and `state` (any JSON-serialisable value; numbers must be finite) to
 * `path` via a temp file and rename, so an interrupted write leaves the previous checkpoint.
 */
export async function writeCheckpoint(
  path: string,
  arrays: ReadonlyMap<string, CheckpointArray> | Readonly<Record<string, CheckpointArray>>,
  state: unknown,
): Promise<void> {
  const json = JSON.stringify(state, (key, value) => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `Checkpoint state field "${key}" is ${value}; JSON cannot store it.`,
        {
          path: key,
        },
      );
    }
    return value;
  });
  if (json === undefined) {
    throw new CascadeError('BAD_ARGUMENT', 'Checkpoint state is not JSON-serialisable.', { path: 'state' });
  }
  const tensors = new Map<string, SafetensorsInput>();
  const entries = arrays instanceof Map ? [...arrays] : Object.entries(arrays);
  for (const [name, value] of entries as [string, CheckpointArray][]) {
    tensors.set(
      name,
      value instanceof Float32Array
        ? { dtype: 'F32', shape: [value.length], data: value }
        : { dtype: 'F32', shape: value.shape, data: value.data },
    );
  }
  await writeSafetensors(path, tensors, { format: CHECKPOINT_FORMAT, state: json });
}

/** Reads a checkpoint; FILE_NOT_FOUND or INVALID_WEIGHTS (with the path) on failure. */
export async function readCheckpoint<State = unknown>(path: string): Promise<Checkpoint<State>> {
  const file = await readSafetensors(path);
  if (file.metadata.format !== CHECKPOINT_FORMAT) {
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `${path} is not a checkpoint of this project (metadata format ${JSON.stringify(file.metadata.format)}, expected "${CHECKPOINT_FORMAT}").`,
      { path },
    );
  }
  let state: State;
  try {
    state = JSON.parse(file.metadata.state ?? '') as State;
  } catch (error) {
    throw new CascadeError('INVALID_WEIGHTS', `${path}: the checkpoint state is missing or not JSON.`, {
      path,
      cause: error,
    });
  }
  const arrays = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, entry] of file.tensors) {
    if (entry.dtype !== 'F32') {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `${path}: checkpoint array "${name}" is ${entry.dtype}, expected F32.`,
        {
          path,
          details: { tensor: name },
        },
      );
    }
    arrays.set(name, entry.data as Float32Array);
    shapes.set(name, [...entry.shape]);
  }
  return { arrays, shapes, state };
}
