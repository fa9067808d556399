/**
 * Named parameters described as data (name, shape, initialiser) before any tensor exists, so a
 * model's parameter list can be validated against a weights file without building the model,
 * and initial values come from the project's seeded `Rng` (identical on every backend) rather
 * than `tf.random*` (whose streams differ between backends).
 */
import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';

export type ParamInit =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  /** Gaussian with mean 0 and the given standard deviation. */
  | { readonly kind: 'normal'; readonly std: number };

export interface ParamSpec {
  /** Stable dotted name, e.g. `down.0.res.0.conv1.kernel`; the key in weights files. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
}

/** How model code reads a parameter by name (a Map lookup, optionally with per-call overrides). */
export type ParamLookup = (name: string) => tf.Tensor;

export function zerosInit(): ParamInit {
  return { kind: 'zeros' };
}

export function onesInit(): ParamInit {
  return { kind: 'ones' };
}

/** Variance-preserving (LeCun) normal: std = gain / sqrt(fanIn). */
export function fanInInit(fanIn: number, gain = 1): ParamInit {
  return { kind: 'normal', std: gain / Math.sqrt(fanIn) };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Total number of scalars described by the specs. */
export function countParameters(specs: readonly ParamSpec[]): number {
  let n = 0;
  for (const spec of specs) n += sizeOf(spec.shape);
  return n;
}

/**
 * The initial values of one parameter. Each parameter has its own generator seeded from
 * (seed, name), so adding or reordering parameters never changes the others' values.
 */
export function initialValues(spec: ParamSpec, seed: number): Float32Array {
  const n = sizeOf(spec.shape);
  const out = new Float32Array(n);
  switch (spec.init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal': {
      const rng = new Rng(deriveSeed(seed, 'param', spec.name));
      const std = spec.init.std;
      for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
      return out;
    }
  }
}

/**
 * Creates one tf.Variable per spec, in spec order. Variables are created without tfjs names:
 * tfjs names are global to the engine, and several models with the same parameter names can
 * live in one process.
 */
export function createParams(
  specs: readonly ParamSpec[],
  seed: number,
  trainable: boolean,
): Map<string, tf.Variable> {
  return variablesFrom(specs, (spec) => initialValues(spec, seed), trainable);
}

/**
 * Variables from given values (e.g. a weights file). Names and sizes must match the specs
 * exactly; the error names the first offending tensor.
 */
export function paramsFromArrays(
  specs: readonly ParamSpec[],
  arrays: ReadonlyMap<string, Float32Array>,
  trainable: boolean,
  path?: string,
): Map<string, tf.Variable> {
  checkArrays(specs, arrays, path);
  return variablesFrom(specs, (spec) => arrays.get(spec.name)!, trainable);
}

/** Throws INVALID_WEIGHTS unless `arrays` holds exactly the specs' names with matching sizes. */
export function checkArrays(
  specs: readonly ParamSpec[],
  arrays: ReadonlyMap<string, { readonly length: number }>,
  path?: string,
): void {
  const where = path === undefined ? '' : ` in ${path}`;
  const wanted = new Set<string>();
  for (const spec of specs) {
    wanted.add(spec.name);
    const values = arrays.get(spec.name);
    if (values === undefined) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `Tensor "${spec.name}" is missing${where}; the architecture needs it with shape [${spec.shape.join(', ')}]. Use weights saved for this architecture config.`,
        pathOption(path, { tensor: spec.name }),
      );
    }
    const expected = sizeOf(spec.shape);
    if (values.length !== expected) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `Tensor "${spec.name}"${where} has ${values.length} values, expected ${expected} (shape [${spec.shape.join(', ')}]). The weights do not match the architecture config.`,
        pathOption(path, { tensor: spec.name }),
      );
    }
  }
  for (const name of arrays.keys()) {
    if (!wanted.has(name)) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `Tensor "${name}"${where} is not a parameter of this architecture. The weights do not match the architecture config.`,
        pathOption(path, { tensor: name }),
      );
    }
  }
}

function pathOption(
  path: string | undefined,
  details: Record<string, unknown>,
): { path?: string; details: Record<string, unknown> } {
  return path === undefined ? { details } : { path, details };
}

function variablesFrom(
  specs: readonly ParamSpec[],
  values: (spec: ParamSpec) => Float32Array,
  trainable: boolean,
): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  try {
    for (const spec of specs) {
      if (params.has(spec.name)) {
        throw new CascadeError('INTERNAL', `Parameter name "${spec.name}" is declared twice.`);
      }
      const initial = tf.tensor(values(spec), [...spec.shape], 'float32');
      params.set(spec.name, tf.variable(initial, trainable));
      initial.dispose();
    }
  } catch (error) {
    for (const v of params.values()) v.dispose();
    throw error;
  }
  return params;
}

/** A lookup over a parameter map with optional per-call replacements (LoRA, fine-tuning deltas). */
export function lookupParams(
  params: ReadonlyMap<string, tf.Tensor>,
  overrides?: ReadonlyMap<string, tf.Tensor>,
): ParamLookup {
  return (name) => {
    const value = overrides?.get(name) ?? params.get(name);
    if (value === undefined) {
      throw new CascadeError('INTERNAL', `The model asked for an undeclared parameter "${name}".`);
    }
    return value;
  };
}
