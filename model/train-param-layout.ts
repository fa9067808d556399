import { CascadeError } from '../util/cascade-error.js';
import { type ParamSpec, sizeOf } from './param-spec.js';

/**
 * Where each named parameter lives in one flat float32 buffer (parameters concatenated in spec
 * order). The optimiser, EMA, gradient exchange and checkpoints all work on this layout, so
 * their state is plain data and the order is the same on every rank.
 */
export interface TrainParamLayout {
  readonly names: readonly string[];
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Start offset of every parameter in the flat buffer. */
  readonly offsets: ReadonlyMap<string, number>;
  /** Total number of scalars. */
  readonly size: number;
}

export function trainParamLayout(specs: readonly ParamSpec[]): TrainParamLayout {
  const names: string[] = [];
  const shapes = new Map<string, readonly number[]>();
  const offsets = new Map<string, number>();
  let size = 0;
  for (const spec of specs) {
    names.push(spec.name);
    shapes.set(spec.name, [...spec.shape]);
    offsets.set(spec.name, size);
    size += sizeOf(spec.shape);
  }
  return { names, shapes, offsets, size };
}

/** The flat buffer's view of one parameter (no copy). */
export function layoutSlice(layout: TrainParamLayout, flat: Float32Array, name: string): Float32Array {
  const offset = layout.offsets.get(name);
  if (offset === undefined) throw new CascadeError('INTERNAL', `"${name}" is not in the parameter layout.`);
  return flat.subarray(offset, offset + sizeOf(layout.shapes.get(name)!));
}

/** Flat buffer -> one copy per name (for checkpoints and weights files). */
export function splitFlat(layout: TrainParamLayout, flat: Float32Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const name of layout.names) out.set(name, layoutSlice(layout, flat, name).slice());
  return out;
}

/**
 * Named arrays -> one flat buffer. Every name of the layout must be present with the right
 * size (INVALID_WEIGHTS naming `what` otherwise), and no other name.
 */
export function joinFlat(
  layout: TrainParamLayout,
  arrays: ReadonlyMap<string, Float32Array>,
  what: string,
): Float32Array {
  const flat = new Float32Array(layout.size);
  for (const name of layout.names) {
    const values = arrays.get(name);
    const expected = sizeOf(layout.shapes.get(name)!);
    if (values === undefined || values.length !== expected) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `${what}: tensor "${name}" is ${values === undefined ? 'missing' : `${values.length} values`}, expected ${expected} (shape [${layout.shapes.get(name)!.join(', ')}]). The file does not match the architecture.`,
        { details: { tensor: name } },
      );
    }
    flat.set(values, layout.offsets.get(name)!);
  }
  if (arrays.size !== layout.names.length) {
    const extra = [...arrays.keys()].find((n) => !layout.offsets.has(n));
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `${what}: tensor "${extra}" is not a parameter of this architecture. The file does not match the architecture.`,
      { details: { tensor: extra } },
    );
  }
  return flat;
}
