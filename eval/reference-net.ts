import { tf } from '../backend/tf.js';
import { type GroupNormOptions, groupNormAct } from '../model/group-norm.js';
import { CascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

/**
 * A small video-UNet-like net used to benchmark a training step (and, reused by the worker-pool
 * bench, data-parallel training). It exercises the kernels the real model's training step uses:
 * 3x3 and temporal [3,1] convs, stride-2 down conv, GroupNorm via moments, SiLU, timestep
 * modulation through dense layers, spatial and temporal softmax attention (batched matMul with
 * transposes), nearest 2x upsampling by tiling, bilinear resize, concat skip, split.
 *
 * Layout: frames folded into the batch, `x [clips*frames, size, size, inChannels]`.
 */
export interface ReferenceNetConfig {
  /** Clips per batch; the tensor batch is `clips * frames`. */
  clips: number;
  frames: number;
  /** Height and width of the input (must be divisible by 2). */
  size: number;
  /** Channels at full resolution; twice as many at half resolution. */
  channels: number;
  inChannels: number;
  groups: number;
  heads: number;
}

/** Batch 16 (2 clips of 8 frames) at 32x32 and 16x16, 32/64 channels. */
export const REFERENCE_NET_DEFAULTS: ReferenceNetConfig = {
  clips: 2,
  frames: 8,
  size: 32,
  channels: 32,
  inChannels: 4,
  groups: 8,
  heads: 2,
};

export interface ReferenceBatch {
  /** Noisy input `[clips*frames, size, size, inChannels]`. */
  x: tf.Tensor4D;
  /** Diffusion timestep per sample, `[clips*frames]`, in `[0, 1000)`. */
  t: tf.Tensor1D;
  /** Regression target (the noise), same shape as `x`. */
  target: tf.Tensor4D;
}

export interface ReferenceNet {
  readonly config: ReferenceNetConfig;
  /** Trainable variables in a fixed order (names are `ref.<layer>.<param>`). */
  readonly variables: readonly tf.Variable[];
  readonly parameterCount: number;
  /** Mean squared error of the prediction against `batch.target` (a scalar; caller disposes). */
  loss(batch: ReferenceBatch): tf.Scalar;
  /** A deterministic batch for `seed` (caller disposes its tensors). */
  makeBatch(seed: number): ReferenceBatch;
  dispose(): void;
}

/**
 * Builds the net's variables on the current backend, initialised from `seed` (so two workers
 * building with the same seed hold identical weights).
 */
export function createReferenceNet(options: Partial<ReferenceNetConfig> = {}, seed = 0): ReferenceNet {
  const config = { ...REFERENCE_NET_DEFAULTS, ...options };
  const { channels: c, inChannels, groups, heads, frames } = config;
  const c2 = 2 * c;
  const emb = 4 * c;
  const rng = new Rng(seed);
  const params = new Map<string, tf.Variable>();
  const add = (name: string, shape: number[], init: 'fan-in' | 'zeros' | 'ones', fanIn = 1): void => {
    const size = tf.util.sizeFromShape(shape);
    const values = new Float32Array(size);
    if (init === 'ones') values.fill(1);
    if (init === 'fan-in') {
      rng.normals(size, values);
      const scale = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < size; i++) values[i]! *= scale;
    }
    params.set(name, tf.variable(tf.tensor(values, shape), true));
  };
  const conv = (name: string, kh: number, kw: number, cin: number, cout: number): void => {
    add(`${name}.kernel`, [kh, kw, cin, cout], 'fan-in', kh * kw * cin);
    add(`${name}.bias`, [cout], 'zeros');
  };
  const dense = (name: string, cin: number, cout: number): void => {
    add(`${name}.kernel`, [cin, cout], 'fan-in', cin);
    add(`${name}.bias`, [cout], 'zeros');
  };
  const norm = (name: string, ch: number): void => {
    add(`${name}.gamma`, [ch], 'ones');
    add(`${name}.beta`, [ch], 'zeros');
  };
  const res = (name: string, cin: number, cout: number): void => {
    norm(`${name}.norm1`, cin);
    conv(`${name}.conv1`, 3, 3, cin, cout);
    dense(`${name}.emb`, emb, 2 * cout);
    norm(`${name}.norm2`, cout);
    conv(`${name}.conv2`, 3, 3, cout, cout);
    if (cin !== cout) dense(`${name}.skip`, cin, cout);
  };
  const attention = (name: string, ch: number): void => {
    norm(`${name}.norm`, ch);
    dense(`${name}.qkv`, ch, 3 * ch);
    dense(`${name}.out`, ch, ch);
  };

  dense('time1', c, emb);
  dense('time2', emb, emb);
  conv('in', 3, 3, inChannels, c);
  res('down0', c, c);
  conv('down', 3, 3, c, c2);
  res('mid0', c2, c2);
  norm('temporal.norm', c2);
  conv('temporal.conv', 3, 1, c2, c2);
  attention('spatial', c2);
  attention('frames', c2);
  res('mid1', c2, c2);
  conv('up', 3, 3, c2, c);
  res('up0', 2 * c, c);
  norm('out.norm', c);
  conv('out', 3, 3, c, inChannels);

  const variables = [...params.values()];
  const p = (name: string): tf.Tensor => {
    const v = params.get(name);
    if (v === undefined) throw new CascadeError('INTERNAL', `The reference net has no parameter ${name}.`);
    return v;
  };

  const silu = <T extends tf.Tensor>(x: T): T => tf.mul(x, tf.sigmoid(x));
  const linear = (name: string, x: tf.Tensor): tf.Tensor => {
    const kernel = p(`${name}.kernel`) as tf.Tensor2D;
    const flat = tf.reshape(x, [-1, kernel.shape[0]]) as tf.Tensor2D;
    const y = tf.add(tf.matMul(flat, kernel), p(`${name}.bias`));
    return tf.reshape(y, [...x.shape.slice(0, -1), kernel.shape[1]]);
  };
  const conv2d = (name: string, x: tf.Tensor4D, stride = 1): tf.Tensor4D =>
    tf.add(tf.conv2d(x, p(`${name}.kernel`) as tf.Tensor4D, stride, 'same'), p(`${name}.bias`));
  const groupNorm = (name: string, x: tf.Tensor4D, options: GroupNormOptions = {}): tf.Tensor4D =>
    groupNormAct(x, p(`${name}.gamma`), p(`${name}.beta`), groups, options) as tf.Tensor4D;
  const resBlock = (name: string, x: tf.Tensor4D, e: tf.Tensor2D): tf.Tensor4D => {
    const cout = (p(`${name}.conv1.kernel`) as tf.Tensor4D).shape[3];
    let a = conv2d(`${name}.conv1`, groupNorm(`${name}.norm1`, x, { silu: true }));
    const [scale, shift] = tf.split(linear(`${name}.emb`, silu(e)), 2, 1);
    a = groupNorm(`${name}.norm2`, a, { scale, shift, silu: true });
    a = conv2d(`${name}.conv2`, a);
    const skip = x.shape[3] === cout ? x : (linear(`${name}.skip`, x) as tf.Tensor4D);
    return tf.add(skip, a);
  };
  /** Softmax attention over `tokens [n, s, ch]` with `heads` heads. */
  const attend = (name: string, tokens: tf.Tensor3D): tf.Tensor3D => {
    const [n, s, ch] = tokens.shape;
    const dh = ch / heads;
    const [q, k, v] = tf.split(linear(`${name}.qkv`, tokens), 3, 2) as [
      tf.Tensor3D,
      tf.Tensor3D,
      tf.Tensor3D,
    ];
    const split = (t: tf.Tensor3D): tf.Tensor3D =>
      tf.reshape(tf.transpose(tf.reshape(t, [n, s, heads, dh]), [0, 2, 1, 3]), [n * heads, s, dh]);
    const logits = tf.mul(tf.matMul(split(q), split(k), false, true), 1 / Math.sqrt(dh));
    const out = tf.matMul(tf.softmax(logits), split(v));
    const merged = tf.reshape(tf.transpose(tf.reshape(out, [n, heads, s, dh]), [0, 2, 1, 3]), [n, s, ch]);
    return linear(`${name}.out`, merged) as tf.Tensor3D;
  };
  const spatialAttention = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, w, ch] = x.shape;
    const tokens = tf.reshape(groupNorm('spatial.norm', x), [n, h * w, ch]) as tf.Tensor3D;
    return tf.add(x, tf.reshape(attend('spatial', tokens), x.shape));
  };
  const temporalAttention = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, w, ch] = x.shape;
    const b = n / frames;
    const normed = tf.reshape(groupNorm('frames.norm', x), [b, frames, h * w, ch]);
    const perPixel = tf.reshape(tf.transpose(normed, [0, 2, 1, 3]), [b * h * w, frames, ch]) as tf.Tensor3D;
    const attended = tf.reshape(attend('frames', perPixel), [b, h * w, frames, ch]);
    return tf.add(x, tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), x.shape));
  };
  const temporalConv = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, w, ch] = x.shape;
    const a = groupNorm('temporal.norm', x, { silu: true });
    const mixed = conv2d('temporal.conv', tf.reshape(a, [n / frames, frames, h * w, ch]));
    return tf.add(x, tf.reshape(mixed, x.shape));
  };
  const upsampleNearest = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, w, ch] = x.shape;
    const wide = tf.tile(tf.reshape(x, [n * h * w, 1, ch]), [1, 2, 1]);
    const tall = tf.tile(tf.reshape(wide, [n * h, 1, 2 * w * ch]), [1, 2, 1]);
    return tf.reshape(tall, [n, 2 * h, 2 * w, ch]);
  };
  const timeEmbedding = (t: tf.Tensor1D): tf.Tensor2D => {
    const half = c / 2;
    const freqs = tf.exp(tf.mul(tf.range(0, half, 1, 'float32'), -Math.log(10000) / half));
    const angles = tf.mul(tf.reshape(t, [-1, 1]), tf.reshape(freqs, [1, half]));
    const sinusoid = tf.concat([tf.sin(angles), tf.cos(angles)], 1);
    return linear('time2', silu(linear('time1', sinusoid))) as tf.Tensor2D;
  };

  const forward = (x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D => {
    const e = timeEmbedding(t);
    const h0 = resBlock('down0', conv2d('in', x), e);
    let h = conv2d('down', h0, 2);
    h = resBlock('mid0', h, e);
    h = temporalConv(h);
    h = spatialAttention(h);
    h = temporalAttention(h);
    h = resBlock('mid1', h, e);
    // Half nearest (tile) and half bilinear upsampling, so both paths and gradients run. No
    // half-pixel centres: the cpu backend's gradient ignores them, and the net's gradients are
    // checked against cpu.
    const [, hh, ww] = h.shape;
    const [nearestHalf, smoothHalf] = tf.split(h, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    const up = tf.concat(
      [upsampleNearest(nearestHalf), tf.image.resizeBilinear(smoothHalf, [2 * hh, 2 * ww], false, false)],
      3,
    );
    let u = conv2d('up', up);
    u = resBlock('up0', tf.concat([u, h0], 3), e);
    return conv2d('out', groupNorm('out.norm', u, { silu: true }));
  };

  return {
    config,
    variables,
    parameterCount: variables.reduce((sum, v) => sum + v.size, 0),
    loss(batch) {
      return tf.tidy(
        () => tf.mean(tf.squaredDifference(forward(batch.x, batch.t), batch.target)) as tf.Scalar,
      );
    },
    makeBatch(batchSeed) {
      const r = new Rng(batchSeed);
      const n = config.clips * frames;
      const shape: [number, number, number, number] = [n, config.size, config.size, inChannels];
      const size = tf.util.sizeFromShape(shape);
      const t = new Float32Array(n);
      for (let i = 0; i < n; i++) t[i] = r.int(1000);
      return {
        x: tf.tensor4d(r.normals(size), shape),
        t: tf.tensor1d(t),
        target: tf.tensor4d(r.normals(size), shape),
      };
    },
    dispose() {
      for (const v of variables) v.dispose();
    },
  };
}
