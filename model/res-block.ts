import { tf } from '../backend/tf.js';
import { conv2d, conv2dParams } from './conv2d.js';
import { groupNorm, groupNormParams } from './group-norm.js';
import { linear, linearParams } from './linear.js';
import type { ParamLookup, ParamSpec } from './param-spec.js';
import { silu } from './silu.js';

/**
 * Residual block with embedding modulation (the image-UNet block of Dhariwal & Nichol):
 *   a = conv1(silu(norm1(x)));  a = silu(norm2(a) * (1 + scale) + shift);  a = conv2(a)
 *   out = skip(x) + a
 * where [scale, shift] = linear(silu(emb)). conv2 starts at zero, so a fresh block is the
 * identity (or the 1x1 skip projection when the channel count changes).
 *
 * Parameters: `<prefix>.norm1`, `.conv1`, `.emb`, `.norm2`, `.conv2`, and `.skip` (a 1x1
 * projection, stored as a dense layer) when inChannels != outChannels.
 */
export function resBlockParams(
  prefix: string,
  inChannels: number,
  outChannels: number,
  embDim: number,
): ParamSpec[] {
  const specs = [
    ...groupNormParams(`${prefix}.norm1`, inChannels),
    ...conv2dParams(`${prefix}.conv1`, [3, 3], inChannels, outChannels),
    ...linearParams(`${prefix}.emb`, embDim, 2 * outChannels),
    ...groupNormParams(`${prefix}.norm2`, outChannels),
    ...conv2dParams(`${prefix}.conv2`, [3, 3], outChannels, outChannels, true),
  ];
  if (inChannels !== outChannels) specs.push(...linearParams(`${prefix}.skip`, inChannels, outChannels));
  return specs;
}

/**
 * x [N, H, W, Cin], emb [N, E] (one row per image: frames are folded into N, so the caller
 * repeats the per-clip embedding per frame) -> [N, H, W, Cout].
 */
export function resBlock(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor4D,
  emb: tf.Tensor2D,
  groups: number,
): tf.Tensor4D {
  const outChannels = (p(`${prefix}.conv1.kernel`) as tf.Tensor4D).shape[3];
  let a = conv2d(
    p,
    `${prefix}.conv1`,
    groupNorm(p, `${prefix}.norm1`, x, groups, { silu: true }) as tf.Tensor4D,
  );
  const modulation = linear(p, `${prefix}.emb`, silu(emb));
  const [scale, shift] = tf.split(modulation, 2, 1);
  a = groupNorm(p, `${prefix}.norm2`, a, groups, { scale, shift, silu: true }) as tf.Tensor4D;
  a = conv2d(p, `${prefix}.conv2`, a);
  const skip = x.shape[3] === outChannels ? x : (linear(p, `${prefix}.skip`, x) as tf.Tensor4D);
  return tf.add(skip, a);
}
