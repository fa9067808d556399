import { CascadeError } from '../util/cascade-error.js';

/** A set of feature vectors: row-major [count, dim] (one row per clip or crop). */
export interface FeatureSet {
  readonly count: number;
  readonly dim: number;
  readonly data: Float32Array;
}

export function featureSet(count: number, dim: number, data: Float32Array): FeatureSet {
  if (data.length !== count * dim) {
    throw new RangeError(`feature set has ${data.length} values, expected ${count}x${dim} = ${count * dim}`);
  }
  return { count, dim, data };
}

/** Throws BAD_ARGUMENT unless both sets have the same dimension and at least `minCount` rows. */
export function checkFeatureSets(x: FeatureSet, y: FeatureSet, minCount: number, metric: string): void {
  if (x.dim !== y.dim) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `${metric}: the two feature sets have dimensions ${x.dim} and ${y.dim}; extract both with the same feature network.`,
      { details: { dims: [x.dim, y.dim] } },
    );
  }
  for (const [name, set] of [
    ['first', x],
    ['second', y],
  ] as const) {
    if (set.count < minCount) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${metric}: the ${name} set has ${set.count} samples, at least ${minCount} are needed; evaluate more clips.`,
        { details: { count: set.count, minCount } },
      );
    }
  }
}
