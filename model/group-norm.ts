import { tf } from '../backend/tf.js';
import {
  fusedGroupNormRuns,
  GROUP_NORM,
  GROUP_NORM_GRAD,
  type GroupNormAttrs,
} from '../backend/wasm-kernels/group-norm.js';
import { CascadeError } from '../util/cascade-error.js';
import { onesInit, type ParamLookup, type ParamSpec, zerosInit } from './param-spec.js';
import { silu as siluOp } from './silu.js';

/** Parameters `<prefix>.gamma` (ones) and `<prefix>.beta` (zeros), both [channels]. */
export function groupNormParams(prefix: string, channels: number): ParamSpec[] {
  return [
    { name: `${prefix}.gamma`, shape: [channels], init: onesInit() },
    { name: `${prefix}.beta`, shape: [channels], init: zerosInit() },
  ];
}

export interface GroupNormOptions {
  /** Per-sample modulation `[N, C]`: the normalised value is multiplied by `1 + scale`... */
  scale?: tf.Tensor;
  /** ...and `shift [N, C]` added (both or neither). */
  shift?: tf.Tensor;
  /** Apply SiLU to the result. */
  silu?: boolean;
  epsilon?: number;
}

/**
 * GroupNorm over a channels-last tensor `[N, ...spatial, C]` with learned `<prefix>.gamma` and
 * `.beta`: statistics per sample and per group of C / groups channels, across all spatial
 * positions. Frames folded into N are normalised independently (per-frame statistics, as in
 * image UNets). Optionally followed by a per-sample modulation and SiLU; see groupNormAct.
 */
export function groupNorm(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor,
  groups: number,
  options: GroupNormOptions = {},
): tf.Tensor {
  return groupNormAct(x, p(`${prefix}.gamma`), p(`${prefix}.beta`), groups, options);
}

/**
 * `act((normalise(x) * gamma + beta) * (1 + scale) + shift)` with act SiLU or the identity.
 * On the wasm backend this runs as one fused kernel with a fused gradient
 * (backend/wasm-kernels/group-norm.ts); elsewhere as the same composition of tfjs ops.
 */
export function groupNormAct(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  groups: number,
  options: GroupNormOptions = {},
): tf.Tensor {
  const { scale, shift, silu = false, epsilon = 1e-5 } = options;
  if ((scale === undefined) !== (shift === undefined)) {
    throw new CascadeError('BAD_ARGUMENT', 'groupNormAct: give both scale and shift, or neither.');
  }
  const attrs: GroupNormAttrs = { groups, epsilon, silu };
  if (!fusedGroupNormRuns(x, groups)) {
    return composite(x, gamma, beta, attrs, scale, shift);
  }
  const inputs = scale === undefined ? [x, gamma, beta] : [x, gamma, beta, scale, shift!];
  const fused = tf.customGrad((...args: (tf.Tensor | ((saved: tf.Tensor[]) => void))[]) => {
    const save = args.pop() as (saved: tf.Tensor[]) => void;
    const tensors = args as tf.Tensor[];
    const named = namedInputs(tensors);
    save(tensors);
    const value = tf.engine().runKernel(GROUP_NORM, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const grads = tf
        .engine()
        .runKernel(
          GROUP_NORM_GRAD,
          { dy, ...namedInputs(saved) },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      return grads.map((g, i) => tf.reshape(g, saved[i]!.shape));
    };
    return { value, gradFunc };
  });
  return (fused as (...t: tf.Tensor[]) => tf.Tensor)(...inputs);
}

function namedInputs(tensors: tf.Tensor[]): tf.NamedTensorMap {
  const [x, gamma, beta, scale, shift] = tensors;
  const named: tf.NamedTensorMap = { x: x!, gamma: gamma!, beta: beta! };
  if (scale !== undefined && shift !== undefined) Object.assign(named, { scale, shift });
  return named;
}

/** The reference composition of tfjs ops (every backend has these and their gradients). */
function composite(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  attrs: GroupNormAttrs,
  scale: tf.Tensor | undefined,
  shift: tf.Tensor | undefined,
): tf.Tensor {
  const shape = x.shape;
  const n = shape[0]!;
  const c = shape[shape.length - 1]!;
  // 4-D view [N, S, G, C/G]; moments over S and C/G.
  const grouped = tf.reshape(x, [n, -1, attrs.groups, c / attrs.groups]);
  const { mean, variance } = tf.moments(grouped, [1, 3], true);
  const normalised = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, attrs.epsilon)));
  let y = tf.add(tf.mul(tf.reshape(normalised, shape), gamma), beta);
  if (scale !== undefined && shift !== undefined) {
    const perSample = [n, ...new Array<number>(shape.length - 2).fill(1), c];
    y = tf.add(tf.mul(y, tf.add(tf.reshape(scale, perSample), 1)), tf.reshape(shift, perSample));
  }
  return attrs.silu ? siluOp(y) : y;
}
