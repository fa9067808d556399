import { join } from 'node:path';
import { tf } from '../backend/tf.js';
import { type Clip, createClip } from '../data/clip.js';
import { conv2d, conv2dParams } from '../model/conv2d.js';
import { linear, linearParams } from '../model/linear.js';
import {
  lookupParams,
  onesInit,
  type ParamLookup,
  type ParamSpec,
  paramsFromArrays,
  zerosInit,
} from '../model/param-spec.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../model/safetensors.js';
import { CascadeError } from '../util/cascade-error.js';
import { packageInfo } from '../util/package-info.js';
import { areaResize } from './area-resize.js';
import { type FeatureSet, featureSet } from './feature-set.js';

/**
 * The evaluation feature network: our stand-in for I3D (FVD) and Inception (FID), which cannot
 * be downloaded here. A small factorised space-time encoder trained on rendered shapes clips
 * to predict scene attributes; its penultimate pre-activations plus motion-energy and
 * sharpness blocks (256 values per clip, standardised) feed FD and KD.
 *
 * Input: a clip area-resized to 32 x 32 (box filter, any source size) and sampled to 16
 * frames (evenly spaced frame indices when the clip has another length), RGB in [0, 1]
 * mapped to [-1, 1]; tensor [batch * 16, 32, 32, 3] (frames folded into the batch).
 *
 * Layers (ReLU after each): conv 3x3 (3 -> c0) at 32x32; conv 3x3 stride 2 (c0 -> c1) to
 * 16x16; temporal residual conv (kernel 3 over frames); conv stride 2 (c1 -> c2) to 8x8;
 * temporal residual conv; conv stride 2 (c2 -> c3) to 4x4; temporal residual conv; mean
 * over frame pairs (16 -> 8 frames); per frame the spatial mean and max -> [batch, 8, c3] each; pooled over time as
 * [mean of the spatial means, mean of the spatial maxima, mean |difference of consecutive
 * spatial means|] -> 3 c3, plus the local motion energy mean |h[t+1] - h[t]| of the 8x8
 * level (c2); dense -> featureDim pre-activations (the heads read their ReLU). The features
 * are [pre-activations, local motion energy, first-layer sharpness] (featureDim + c2 + c0 =
 * 256 values), standardised per dimension with fixed statistics of real clips.
 * Temporal convs run as 2-D convs with [3, 1] kernels on [batch, frames, h * w, c] (fast on
 * every backend, unlike conv3d on wasm).
 */
export const FEATURE_NET_FRAMES = 16;
export const FEATURE_NET_SIZE = 32;

export interface FeatureNetConfig {
  readonly channels: readonly [number, number, number, number];
  readonly featureDim: number;
}

export const DEFAULT_FEATURE_NET_CONFIG: FeatureNetConfig = { channels: [32, 64, 96, 128], featureDim: 128 };

/**
 * Output heads, in order, as [name, groups, classes]: a softmax over `classes` per group
 * (classes 1 = one regression value per group).
 *   shapeCounts: objects of each of the 7 shapes, 0..4; colourCounts: objects of each of the 8
 *   colours, 0..4; backgroundKind: solid/gradient/stripes/checker; backgroundColour: 8 colours;
 *   speed: mean object speed in d0 pixels per frame (regression, needs the temporal layers).
 */
export const FEATURE_NET_HEADS = [
  ['shapeCounts', 7, 5],
  ['colourCounts', 8, 5],
  ['backgroundKind', 1, 4],
  ['backgroundColour', 1, 8],
  ['speed', 1, 1],
] as const;

export type FeatureNetHead = (typeof FEATURE_NET_HEADS)[number][0];

export const FEATURE_NET_OUTPUTS = FEATURE_NET_HEADS.reduce((n, [, g, c]) => n + g * c, 0);

/** Offset of each head in the output vector. */
export function headOffset(name: FeatureNetHead): number {
  let o = 0;
  for (const [n, g, c] of FEATURE_NET_HEADS) {
    if (n === name) return o;
    o += g * c;
  }
  throw new RangeError(`unknown head ${name}`);
}

export function featureNetParams(config: FeatureNetConfig = DEFAULT_FEATURE_NET_CONFIG): ParamSpec[] {
  const [c0, c1, c2, c3] = config.channels;
  return [
    ...conv2dParams('conv0', [3, 3], 3, c0),
    ...conv2dParams('conv1', [3, 3], c0, c1),
    // Temporal residual convs start at zero (identity), so single-frame training of the
    // spatial trunk and the later 16-frame training share one parameter set.
    ...conv2dParams('time1', [3, 1], c1, c1, true),
    ...conv2dParams('conv2', [3, 3], c1, c2),
    ...conv2dParams('time2', [3, 1], c2, c2, true),
    ...conv2dParams('conv3', [3, 3], c2, c3),
    ...conv2dParams('time3', [3, 1], c3, c3, true),
    ...linearParams('features', 3 * c3 + c2, config.featureDim),
    // Fixed standardisation of the features (set from real clips after training, not trained).
    { name: 'norm.mean', shape: [featureNetOutputDim(config)], init: zerosInit() },
    { name: 'norm.std', shape: [featureNetOutputDim(config)], init: onesInit() },
    ...linearParams('heads', config.featureDim, FEATURE_NET_OUTPUTS),
    // Training-only 1x1 heads (per-pixel colour 9 + shape 8 at 16x16, object centres 2 at 8x8).
    ...conv2dParams('aux.segment', [1, 1], c1, AUX_SEGMENT_CLASSES),
    ...conv2dParams('aux.centre', [1, 1], c2, 2),
  ];
}

/** Logits of the per-pixel auxiliary head: 9 colour classes then 8 shape classes. */
export const AUX_SEGMENT_CLASSES = 17;

/**
 * Size of the evaluation feature vector: the dense layer's width, the c2 motion energies and
 * the c0 first-layer sharpness values (128 + 96 + 32 = 256 for the default config).
 */
export function featureNetOutputDim(config: FeatureNetConfig): number {
  return config.featureDim + config.channels[2] + config.channels[0];
}

export interface FeatureNetOutput {
  /** [batch, featureNetOutputDim]: the evaluation features. */
  readonly features: tf.Tensor2D;
  /** [batch, FEATURE_NET_OUTPUTS]: head logits / regression values. */
  readonly outputs: tf.Tensor2D;
  /** Training only (when asked for): [batch * frames, 16, 16, 17] and [batch * frames, 8, 8, 2] logits. */
  readonly aux?: { readonly segment: tf.Tensor4D; readonly centre: tf.Tensor4D };
}

/**
 * Forward pass on x [batch * frames, 32, 32, 3] in [-1, 1]; frames is 16 for evaluation.
 * Training also runs it on single frames (frames = 1: the temporal convs see only their
 * centre tap and the motion half of the pooled vector is zero), which is how the spatial
 * trunk is trained cheaply first. Synchronous; call inside tf.tidy.
 */
export function featureNetForward(
  p: ParamLookup,
  x: tf.Tensor4D,
  batch: number,
  frames: number = FEATURE_NET_FRAMES,
  withAux = false,
): FeatureNetOutput {
  const t = frames;
  let h = tf.relu(conv2d(p, 'conv0', x));
  const firstLayer = sharpness(h, batch);
  h = tf.relu(conv2d(p, 'conv1', h, 2));
  h = temporalResidual(p, 'time1', h, batch, t);
  const segment = withAux ? conv2d(p, 'aux.segment', h) : undefined;
  h = tf.relu(conv2d(p, 'conv2', h, 2));
  h = temporalResidual(p, 'time2', h, batch, t);
  const centre = withAux ? conv2d(p, 'aux.centre', h) : undefined;
  const localMotion = localChange(h, batch, t);
  h = tf.relu(conv2d(p, 'conv3', h, 2));
  h = temporalResidual(p, 'time3', h, batch, t);
  const [, hh, ww, c] = h.shape;
  // Mean over frame pairs: [batch, 16, hw, c] -> [batch, 8, hw, c] (a single frame stays as is).
  const seq = tf.reshape(h, [batch, t, hh * ww, c]) as tf.Tensor4D;
  const down =
    t >= 2 && t % 2 === 0 ? (tf.mean(tf.reshape(seq, [batch, t / 2, 2, hh * ww, c]), 2) as tf.Tensor4D) : seq;
  const perFrame = tf.mean(down, 2) as tf.Tensor3D; // [batch, 8, c]
  // Spatial max as well as mean: presence of a small object survives a max, not a mean.
  const peak = tf.mean(tf.max(down, 2), 1);
  const pooledFrames = perFrame.shape[1];
  const mean = tf.mean(perFrame, 1);
  const motion =
    pooledFrames < 2
      ? tf.zerosLike(mean)
      : tf.mean(
          tf.abs(
            tf.sub(
              tf.slice(perFrame, [0, 1, 0], [batch, pooledFrames - 1, c]),
              tf.slice(perFrame, [0, 0, 0], [batch, pooledFrames - 1, c]),
            ),
          ),
          1,
        );
  const pooled = tf.concat([mean, peak, motion, localMotion], 1);
  // The evaluation features are the pre-activation of the penultimate layer (after the ReLU
  // about two thirds of the values would be exactly 0, no information for FD), standardised
  // per dimension with statistics of real training clips fixed at the end of training, so
  // FD is in units of the real spread and the KD kernel (x.y / d + 1)^3 sees values of order 1.
  const pre = linear(p, 'features', pooled);
  // Motion energy and first-layer sharpness join the features directly: the trained layer
  // mostly encodes content (what the heads ask for), and FD must also see how frames change
  // and how sharp they are.
  const raw = tf.concat([pre, localMotion, firstLayer], 1);
  const features = tf.div(tf.sub(raw, p('norm.mean')), p('norm.std')) as tf.Tensor2D;
  const outputs = linear(p, 'heads', tf.relu(pre)) as tf.Tensor2D;
  return segment && centre ? { features, outputs, aux: { segment, centre } } : { features, outputs };
}

/**
 * Per first-layer filter, the mean absolute difference between horizontally and vertically
 * adjacent responses, [batch * frames, 32, 32, c0] -> [batch, c0]: how much the full-resolution
 * filter responses change from pixel to pixel, which blur lowers and noise raises. Like the
 * motion energy it responds without any training.
 */
function sharpness(h: tf.Tensor4D, batch: number): tf.Tensor2D {
  const [n, hh, ww, c] = h.shape;
  const dx = tf.abs(
    tf.sub(tf.slice(h, [0, 0, 1, 0], [n, hh, ww - 1, c]), tf.slice(h, [0, 0, 0, 0], [n, hh, ww - 1, c])),
  );
  const dy = tf.abs(
    tf.sub(tf.slice(h, [0, 1, 0, 0], [n, hh - 1, ww, c]), tf.slice(h, [0, 0, 0, 0], [n, hh - 1, ww, c])),
  );
  const perImage = tf.add(tf.mean(dx, [1, 2]), tf.mean(dy, [1, 2])); // [n, c]
  return tf.mean(tf.reshape(perImage, [batch, n / batch, c]), 1) as tf.Tensor2D;
}

/**
 * Mean over frames and positions of |h[t+1] - h[t]| at one trunk level, h [batch * frames,
 * h, w, c] -> [batch, c]: local feature change, i.e. motion energy. It needs no training to
 * respond (objects that move farther change more positions), which makes the features see
 * shuffled or jerky frames; zeros for a single frame.
 */
function localChange(h: tf.Tensor4D, batch: number, frames: number): tf.Tensor2D {
  const [, hh, ww, c] = h.shape;
  if (frames < 2) return tf.zeros([batch, c]);
  const seq = tf.reshape(h, [batch, frames, hh * ww, c]);
  const diff = tf.abs(
    tf.sub(
      tf.slice(seq, [0, 1, 0, 0], [batch, frames - 1, -1, -1]),
      tf.slice(seq, [0, 0, 0, 0], [batch, frames - 1, -1, -1]),
    ),
  );
  return tf.mean(diff, [1, 2]) as tf.Tensor2D;
}

/** relu(x + conv_t(x)) with a [3, 1] kernel over frames; x [batch * frames, h, w, c] (already >= 0). */
function temporalResidual(
  p: ParamLookup,
  prefix: string,
  x: tf.Tensor4D,
  batch: number,
  frames: number,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const seq = tf.reshape(x, [batch, frames, h * w, c]) as tf.Tensor4D;
  const mixed = conv2d(p, prefix, seq);
  return tf.relu(tf.add(x, tf.reshape(mixed, [n, h, w, c]))) as tf.Tensor4D;
}

/**
 * One clip as network input: area-resized to 32 x 32, frames sampled to 16 (index
 * round(k (T - 1) / 15) when T != 16), values mapped to [-1, 1]. Returns [16 * 32 * 32 * 3].
 */
export function featureNetInput(clip: Clip, out?: Float32Array, offset = 0): Float32Array {
  const n = FEATURE_NET_SIZE * FEATURE_NET_SIZE * 3;
  const target = out ?? new Float32Array(FEATURE_NET_FRAMES * n);
  const picked = clip.frames === FEATURE_NET_FRAMES ? clip : pickFrames(clip, FEATURE_NET_FRAMES);
  const small = areaResize(picked, FEATURE_NET_SIZE, FEATURE_NET_SIZE);
  const d = small.data;
  for (let i = 0; i < FEATURE_NET_FRAMES * n; i++) target[offset + i] = 2 * d[i]! - 1;
  return target;
}

function pickFrames(clip: Clip, frames: number): Clip {
  if (clip.frames < 1) {
    throw new CascadeError('BAD_ARGUMENT', 'The feature network needs clips with at least one frame.');
  }
  const n = clip.height * clip.width * 3;
  const out = createClip(frames, clip.height, clip.width);
  for (let k = 0; k < frames; k++) {
    const src = frames === 1 ? 0 : Math.round((k * (clip.frames - 1)) / (frames - 1));
    out.data.set(clip.data.subarray(src * n, (src + 1) * n), k * n);
  }
  return out;
}

/** Folder of the shipped weights. */
export function defaultFeatureNetDir(): string {
  return join(packageInfo().root, 'presets', 'feature-net');
}

export const FEATURE_NET_WEIGHTS_FILE = 'feature-net.safetensors';

/** A loaded feature network (weights as tf variables). Call `dispose()` when done. */
export class FeatureNet {
  readonly config: FeatureNetConfig;
  readonly params: Map<string, tf.Variable>;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(
    config: FeatureNetConfig,
    params: Map<string, tf.Variable>,
    metadata: Record<string, string> = {},
  ) {
    this.config = config;
    this.params = params;
    this.metadata = metadata;
  }

  /**
   * Loads `feature-net.safetensors` from `dir` (default: presets/feature-net). The config is
   * read from the file's metadata (`channels`, `featureDim`).
   */
  static async load(dir: string = defaultFeatureNetDir()): Promise<FeatureNet> {
    const path = join(dir, FEATURE_NET_WEIGHTS_FILE);
    const file = await readSafetensors(path);
    const config = parseConfig(file.metadata, path);
    const arrays = new Map<string, Float32Array>();
    for (const [name, entry] of file.tensors) arrays.set(name, toFloat32(entry));
    const params = paramsFromArrays(featureNetParams(config), arrays, false, path);
    return new FeatureNet(config, params, file.metadata);
  }

  /** Writes the weights with the config (and any extra metadata) to `dir/feature-net.safetensors`. */
  async save(dir: string, metadata: Record<string, string> = {}): Promise<void> {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const spec of featureNetParams(this.config)) {
      const v = this.params.get(spec.name)!;
      tensors.set(spec.name, { shape: [...spec.shape], data: (await v.data()) as Float32Array });
    }
    await writeSafetensors(join(dir, FEATURE_NET_WEIGHTS_FILE), tensors, {
      ...metadata,
      channels: this.config.channels.join(','),
      featureDim: String(this.config.featureDim),
    });
  }

  /** Size of the evaluation features (featureNetOutputDim of the config). */
  get featureDim(): number {
    return featureNetOutputDim(this.config);
  }

  /** Features of every clip: [clips.length, featureDim], computed in batches of `batchSize`. */
  async features(clips: readonly Clip[], options: { batchSize?: number } = {}): Promise<FeatureSet> {
    const batchSize = options.batchSize ?? 32;
    const dim = this.featureDim;
    const out = new Float32Array(clips.length * dim);
    const per = FEATURE_NET_FRAMES * FEATURE_NET_SIZE * FEATURE_NET_SIZE * 3;
    const p = lookupParams(this.params);
    for (let start = 0; start < clips.length; start += batchSize) {
      const batch = clips.slice(start, start + batchSize);
      const input = new Float32Array(batch.length * per);
      batch.forEach((c, i) => {
        featureNetInput(c, input, i * per);
      });
      const features = tf.tidy(() => {
        const x = tf.tensor4d(input, [
          batch.length * FEATURE_NET_FRAMES,
          FEATURE_NET_SIZE,
          FEATURE_NET_SIZE,
          3,
        ]);
        return featureNetForward(p, x, batch.length).features;
      });
      try {
        out.set((await features.data()) as Float32Array, start * dim);
      } finally {
        features.dispose();
      }
    }
    return featureSet(clips.length, dim, out);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

function parseConfig(metadata: Record<string, string>, path: string): FeatureNetConfig {
  const channels = (metadata.channels ?? '').split(',').map(Number);
  const featureDim = Number(metadata.featureDim);
  if (channels.length !== 4 || !channels.every((c) => Number.isInteger(c) && c > 0) || !(featureDim > 0)) {
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `Feature-network weights ${path} lack a valid config in their metadata (channels "${metadata.channels}", featureDim "${metadata.featureDim}"); expected four channel counts and a feature size, as written by eval/train-feature-net.ts.`,
      { path },
    );
  }
  return { channels: channels as unknown as [number, number, number, number], featureDim };
}
