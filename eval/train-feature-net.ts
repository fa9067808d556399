/**
 * Trains the evaluation feature network (eval/feature-net.ts) on rendered shapes clips and
 * writes presets/feature-net/feature-net.safetensors (the command used for the shipped weights
 * is in presets/feature-net/README.md):
 *
 *   npx tsx eval/train-feature-net.ts --frame-steps 2500 --frame-batch 64 --clip-steps 600 \
 *     --clip-batch 8 --lr 0.002 --clip-lr 0.001 --seed 1 --backend wasm --out presets/feature-net
 *
 * Training clips come from the endless shapes stream (train split, 32 x 32 x 16, seeded) through
 * a pool of rendered clips refreshed a few per update; accuracies are measured on a fixed
 * held-out set (the held-out split, disjoint seeds). Phase 1 updates on single frames, phase 2
 * on whole clips (temporal convs, feature layer and heads only). Adam with linear warmup and
 * cosine decay. The loss sums the softmax
 * cross-entropies of the count and background heads, the squared error of the speed head
 * (phase 2), and dense auxiliary terms (per-pixel colour and shape at 16 x 16, object centres
 * at 8 x 8) that teach the trunk object detectors quickly.
 */
import { appendFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendRequest, selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { type Clip, createClip } from '../data/clip.js';
import { makeShapesSet } from '../data/make-shapes-set.js';
import type { ShapesSample } from '../data/shapes-sample.js';
import { shapesStream } from '../data/shapes-stream.js';
import { createParams, lookupParams } from '../model/param-spec.js';
import { readSafetensors, toFloat32 } from '../model/safetensors.js';
import { deriveSeed, Rng } from '../util/rng.js';
import {
  DEFAULT_FEATURE_NET_CONFIG,
  FEATURE_NET_FRAMES,
  FEATURE_NET_HEADS,
  FEATURE_NET_SIZE,
  FEATURE_NET_WEIGHTS_FILE,
  FeatureNet,
  featureNetForward,
  featureNetInput,
  featureNetParams,
} from './feature-net.js';
import {
  CENTRE_SIZE,
  type DenseTargets,
  featureNetDenseTargets,
  featureNetTargets,
  SEGMENT_SIZE,
  TARGET_GROUPS,
} from './feature-net-targets.js';

export interface TrainFeatureNetOptions {
  /** Phase 1: updates on single frames (spatial trunk and the per-frame heads). */
  readonly frameSteps: number;
  /** Frames per phase-1 update. */
  readonly frameBatch: number;
  /** Phase 2: updates on whole 16-frame clips (everything, including the speed head). */
  readonly clipSteps: number;
  readonly clipBatch: number;
  readonly seed: number;
  /** Peak learning rate of phase 1. */
  readonly lr: number;
  /** Peak learning rate of phase 2 (gentler: the new speed head's first errors must not wreck the features). */
  readonly clipLr: number;
  readonly out: string;
  readonly heldout: number;
  /** Clips kept rendered in memory; `refresh` of them are replaced by new stream clips per update. */
  readonly pool: number;
  readonly refresh: number;
  readonly evalEvery: number;
  /** Warm start from these weights (a folder with feature-net.safetensors); see `warmStart`. */
  readonly init?: string | undefined;
  /** Real clips used to fix the feature standardisation after training. */
  readonly normClips: number;
  readonly log?: (line: string) => void;
}

export interface HeldoutAccuracy {
  /** All 7 shape counts right. */
  readonly shapeCountsExact: number;
  /** Mean over the 7 shapes of count accuracy. */
  readonly shapeCountMean: number;
  readonly colourCountsExact: number;
  readonly colourCountMean: number;
  readonly backgroundKind: number;
  readonly backgroundColour: number;
  /** Mean absolute error of the speed head, d0 px per frame. */
  readonly speedMae: number;
}

const PER_FRAME = FEATURE_NET_SIZE * FEATURE_NET_SIZE * 3;
const PER_CLIP = FEATURE_NET_FRAMES * PER_FRAME;

function batchTensors(samples: readonly ShapesSample[]): {
  x: Float32Array;
  classes: Int32Array;
  speed: Float32Array;
} {
  const x = new Float32Array(samples.length * PER_CLIP);
  const classes = new Int32Array(samples.length * TARGET_GROUPS);
  const speed = new Float32Array(samples.length);
  samples.forEach((s, i) => {
    featureNetInput(s.clip, x, i * PER_CLIP);
    const t = featureNetTargets(s.scene);
    classes.set(t.classes, i * TARGET_GROUPS);
    speed[i] = t.speed;
  });
  return { x, classes, speed };
}

/**
 * Sum of per-group softmax cross-entropies + speed MSE (the speed term only when `speed`
 * is given: single frames carry no motion). outputs [B, FEATURE_NET_OUTPUTS].
 */
function lossOf(outputs: tf.Tensor2D, classes: tf.Tensor2D, speed: tf.Tensor1D | undefined): tf.Scalar {
  const b = outputs.shape[0];
  let offset = 0;
  let group = 0;
  const terms: tf.Scalar[] = [];
  for (const [, groups, n] of FEATURE_NET_HEADS) {
    if (n === 1) {
      if (speed) {
        const pred = tf.reshape(tf.slice(outputs, [0, offset], [b, 1]), [b]);
        terms.push(tf.mean(tf.square(tf.sub(pred, speed))) as tf.Scalar);
      }
    } else {
      const logits = tf.reshape(tf.slice(outputs, [0, offset], [b, groups * n]), [b * groups, n]);
      const labels = tf.reshape(tf.slice(classes, [0, group], [b, groups]), [b * groups]);
      const onehot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, n);
      terms.push(tf.mul(groups, tf.losses.softmaxCrossEntropy(onehot, logits)) as tf.Scalar);
      group += groups;
    }
    offset += groups * n;
  }
  return tf.addN(terms) as tf.Scalar;
}

/** Accuracies of the heads on held-out samples (argmax per group). */
export async function heldoutAccuracy(
  net: FeatureNet,
  samples: readonly ShapesSample[],
): Promise<HeldoutAccuracy> {
  const p = lookupParams(net.params);
  const shapes = FEATURE_NET_HEADS[0][1];
  const colours = FEATURE_NET_HEADS[1][1];
  let shapeExact = 0;
  let shapeSum = 0;
  let colourExact = 0;
  let colourSum = 0;
  let kind = 0;
  let bg = 0;
  let speedErr = 0;
  for (let start = 0; start < samples.length; start += 32) {
    const chunk = samples.slice(start, start + 32);
    const { x, classes, speed } = batchTensors(chunk);
    const outputs = tf.tidy(
      () =>
        featureNetForward(
          p,
          tf.tensor4d(x, [chunk.length * FEATURE_NET_FRAMES, FEATURE_NET_SIZE, FEATURE_NET_SIZE, 3]),
          chunk.length,
        ).outputs,
    );
    const out = (await outputs.data()) as Float32Array;
    outputs.dispose();
    const width = out.length / chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const row = out.subarray(i * width, (i + 1) * width);
      const labels = classes.subarray(i * TARGET_GROUPS, (i + 1) * TARGET_GROUPS);
      let offset = 0;
      let g = 0;
      let shapeOk = 0;
      let colourOk = 0;
      for (const [name, groups, n] of FEATURE_NET_HEADS) {
        if (n === 1) {
          speedErr += Math.abs(row[offset]! - speed[i]!);
        } else {
          for (let k = 0; k < groups; k++) {
            const ok = argmax(row, offset + k * n, n) === labels[g + k];
            if (name === 'shapeCounts') shapeOk += Number(ok);
            else if (name === 'colourCounts') colourOk += Number(ok);
            else if (name === 'backgroundKind') kind += Number(ok);
            else bg += Number(ok);
          }
          g += groups;
        }
        offset += groups * n;
      }
      shapeExact += Number(shapeOk === shapes);
      shapeSum += shapeOk / shapes;
      colourExact += Number(colourOk === colours);
      colourSum += colourOk / colours;
    }
  }
  const n = samples.length;
  return {
    shapeCountsExact: shapeExact / n,
    shapeCountMean: shapeSum / n,
    colourCountsExact: colourExact / n,
    colourCountMean: colourSum / n,
    backgroundKind: kind / n,
    backgroundColour: bg / n,
    speedMae: speedErr / n,
  };
}

function argmax(row: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (row[offset + k]! > row[offset + best]!) best = k;
  return best;
}

/**
 * Clips kept rendered as uint8 (with their targets), refreshed from the stream a few at a time:
 * rendering every training clip anew would cost as much as the update itself.
 */
class ClipPool {
  private readonly bytes: Uint8Array;
  private readonly targets: ReturnType<typeof featureNetTargets>[] = [];
  private readonly dense: DenseTargets[] = [];
  private next = 0;

  constructor(
    readonly size: number,
    private readonly stream: Generator<ShapesSample, never, undefined>,
  ) {
    this.bytes = new Uint8Array(size * PER_CLIP);
    for (let i = 0; i < size; i++) this.replace(i);
  }

  private replace(i: number): void {
    const s = this.stream.next().value;
    const input = featureNetInput(s.clip);
    const base = i * PER_CLIP;
    // Store [0, 1] values as bytes; the renderer's output is itself 8-bit-exact enough for training.
    for (let k = 0; k < PER_CLIP; k++) this.bytes[base + k] = Math.round((input[k]! + 1) * 127.5);
    this.targets[i] = featureNetTargets(s.scene);
    this.dense[i] = featureNetDenseTargets(s.scene, FEATURE_NET_FRAMES);
  }

  /** The first `n` pool clips as [0, 1] clips (for statistics). */
  clips(n: number): Clip[] {
    return Array.from({ length: n }, (_, i) => {
      const data = new Float32Array(PER_CLIP);
      for (let k = 0; k < PER_CLIP; k++) data[k] = this.bytes[i * PER_CLIP + k]! / 255;
      return createClip(FEATURE_NET_FRAMES, FEATURE_NET_SIZE, FEATURE_NET_SIZE, data);
    });
  }

  refresh(n: number): void {
    for (let k = 0; k < n; k++) {
      this.replace(this.next);
      this.next = (this.next + 1) % this.size;
    }
  }

  /** `count` (clip, frame) draws, or whole clips when `frames` is 16. */
  batch(rng: Rng, count: number, frames: 1 | 16): Batch {
    const per = frames * PER_FRAME;
    const x = new Float32Array(count * per);
    const classes = new Int32Array(count * TARGET_GROUPS);
    const speed = new Float32Array(count);
    const seg = SEGMENT_SIZE * SEGMENT_SIZE;
    const cen = CENTRE_SIZE * CENTRE_SIZE;
    const colour = new Int32Array(count * frames * seg);
    const shape = new Int32Array(count * frames * seg);
    const centre = new Int32Array(count * frames * cen);
    for (let i = 0; i < count; i++) {
      const clip = rng.int(this.size);
      const t = frames === 1 ? rng.int(FEATURE_NET_FRAMES) : 0;
      const src = clip * PER_CLIP + t * PER_FRAME;
      for (let k = 0; k < per; k++) x[i * per + k] = this.bytes[src + k]! / 127.5 - 1;
      const target = this.targets[clip]!;
      classes.set(target.classes, i * TARGET_GROUPS);
      speed[i] = target.speed;
      const d = this.dense[clip]!;
      colour.set(d.colour.subarray(t * seg, (t + frames) * seg), i * frames * seg);
      shape.set(d.shape.subarray(t * seg, (t + frames) * seg), i * frames * seg);
      centre.set(d.centre.subarray(t * cen, (t + frames) * cen), i * frames * cen);
    }
    return { x, classes, speed, colour, shape, centre };
  }
}

interface Batch {
  readonly x: Float32Array;
  readonly classes: Int32Array;
  readonly speed: Float32Array;
  /** Dense auxiliary labels per frame: [n * frames * 16 * 16] (x2) and [n * frames * 8 * 8]. */
  readonly colour: Int32Array;
  readonly shape: Int32Array;
  readonly centre: Int32Array;
}

/** Mean softmax cross-entropy of logits [..., n] (flattened) against integer labels. */
function denseLoss(logits: tf.Tensor, labels: Int32Array, n: number): tf.Scalar {
  const flat = tf.reshape(logits, [-1, n]);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), n), flat) as tf.Scalar;
}

/** Per-pixel colour and shape, and object centres: the auxiliary terms of the training loss. */
function auxLoss(aux: NonNullable<ReturnType<typeof featureNetForward>['aux']>, b: Batch): tf.Scalar {
  const colourLogits = tf.slice(aux.segment, [0, 0, 0, 0], [-1, -1, -1, 9]);
  const shapeLogits = tf.slice(aux.segment, [0, 0, 0, 9], [-1, -1, -1, 8]);
  return tf.addN([
    tf.mul(2, denseLoss(colourLogits, b.colour, 9)),
    tf.mul(2, denseLoss(shapeLogits, b.shape, 8)),
    tf.mul(4, denseLoss(aux.centre, b.centre, 2)),
  ]) as tf.Scalar;
}

/** Adam on tf variables (plain tf ops, so any backend), with a per-update learning rate. */
class Adam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private updates = 0;

  constructor(private readonly vars: tf.Variable[]) {
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = vars.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /** One update minimising `loss`; returns the loss value. Call outside tf.tidy. */
  async step(loss: () => tf.Scalar, lr: number): Promise<number> {
    this.updates += 1;
    const k = this.updates;
    const value = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, this.vars);
      const c1 = 1 - 0.9 ** k;
      const c2 = 1 - 0.999 ** k;
      this.vars.forEach((w, i) => {
        const g = grads[w.name]!;
        const m = tf.add(tf.mul(0.9, this.m[i]!), tf.mul(0.1, g));
        const v = tf.add(tf.mul(0.999, this.v[i]!), tf.mul(0.001, tf.square(g)));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        w.assign(tf.sub(w, tf.div(tf.mul(lr / c1, m), tf.add(tf.sqrt(tf.div(v, c2)), 1e-8))));
      });
      return value;
    });
    const out = (await value.data())[0]!;
    value.dispose();
    return out;
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

/**
 * Copies weights from an earlier run: every tensor whose size matches; a dense kernel whose
 * input grew (more rows) keeps its old rows and gets zeros in the new ones, so the network
 * computes exactly what it did and the new inputs start unused. Others keep their fresh init.
 */
async function warmStart(
  params: Map<string, tf.Variable>,
  dir: string,
  log: (line: string) => void,
): Promise<void> {
  const file = await readSafetensors(join(dir, FEATURE_NET_WEIGHTS_FILE));
  const fresh: string[] = [];
  for (const [name, variable] of params) {
    const entry = file.tensors.get(name);
    const size = variable.size;
    const old = entry ? toFloat32(entry) : undefined;
    if (old && old.length === size) {
      tf.tidy(() => variable.assign(tf.tensor(old, variable.shape)));
    } else if (
      old &&
      variable.shape.length === 2 &&
      old.length % variable.shape[1]! === 0 &&
      old.length < size
    ) {
      const values = new Float32Array(size);
      values.set(old);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
      fresh.push(`${name} (rows ${old.length / variable.shape[1]!}.. zero)`);
    } else {
      fresh.push(name);
    }
  }
  log(`warm start from ${dir}; new or reshaped: ${fresh.join(', ') || 'none'}`);
}

/**
 * Sets norm.mean / norm.std to the per-dimension mean and standard deviation of the
 * pre-activation features over the first `count` pool clips (real training clips).
 */
async function fixStandardisation(net: FeatureNet, pool: ClipPool, count: number): Promise<void> {
  const mean = net.params.get('norm.mean')!;
  const std = net.params.get('norm.std')!;
  tf.tidy(() => {
    mean.assign(tf.zerosLike(mean));
    std.assign(tf.onesLike(std));
  });
  const clips = pool.clips(Math.min(count, pool.size));
  const features = await net.features(clips);
  const { dim, count: n, data } = features;
  const m = new Float32Array(dim);
  const s = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += data[i * dim + j]!;
    const mu = sum / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (data[i * dim + j]! - mu) ** 2;
    m[j] = mu;
    s[j] = Math.max(1e-6, Math.sqrt(v / Math.max(1, n - 1)));
  }
  tf.tidy(() => {
    mean.assign(tf.tensor1d(m));
    std.assign(tf.tensor1d(s));
  });
}

/** Linear warmup over `warmup` updates, then cosine decay to 5% of `peak` at `total`. */
function cosineLr(step: number, total: number, peak: number, warmup: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return peak * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

/**
 * Trains from scratch and saves the weights; returns the final held-out accuracies.
 * Phase 1 trains on single frames drawn from the pool (the temporal convs start as identity,
 * so this trains the spatial trunk and the count / colour / background heads at 1/16 of the
 * cost per example); phase 2 trains the temporal convs, feature layer and heads on whole
 * clips, adding the speed head.
 */
export async function trainFeatureNet(options: TrainFeatureNetOptions): Promise<HeldoutAccuracy> {
  const log = options.log ?? (() => {});
  const config = DEFAULT_FEATURE_NET_CONFIG;
  const params = createParams(featureNetParams(config), options.seed, true);
  if (options.init) await warmStart(params, options.init, log);
  const net = new FeatureNet(config, params);
  const p = lookupParams(params);
  const trained = [...params.keys()].filter((n) => !n.startsWith('norm.'));
  const adam = new Adam(trained.map((n) => params.get(n)!));
  // Phase 2 leaves the spatial convs as phase 1 left them: only the temporal convs, the
  // feature layer and the heads adapt to motion, so the speed head cannot disturb the trunk.
  const temporalNames = [...params.keys()].filter((n) => /^(time\d|features|heads)\./.test(n));
  const adamClips = new Adam(temporalNames.map((n) => params.get(n)!));
  const heldout = makeShapesSet({ seed: options.seed, count: options.heldout, split: 'heldout' }).samples;
  const started = performance.now();
  const pool = new ClipPool(options.pool, shapesStream(options.seed));
  log(`pool of ${options.pool} clips rendered in ${((performance.now() - started) / 1000).toFixed(0)}s`);
  const rng = new Rng(deriveSeed(options.seed, 'feature-net-batches'));
  const total = options.frameSteps + options.clipSteps;
  let smoothed = Number.NaN;
  for (let step = 0; step < total; step++) {
    const phase1 = step < options.frameSteps;
    const lr = phase1
      ? cosineLr(step, options.frameSteps, options.lr, Math.min(100, Math.floor(options.frameSteps / 10)))
      : cosineLr(
          step - options.frameSteps,
          options.clipSteps,
          options.clipLr,
          Math.min(50, options.clipSteps),
        );
    const frames = phase1 ? 1 : FEATURE_NET_FRAMES;
    const count = phase1 ? options.frameBatch : options.clipBatch;
    pool.refresh(options.refresh);
    const b = pool.batch(rng, count, frames as 1 | 16);
    const loss = await (phase1 ? adam : adamClips).step(() => {
      const x = tf.tensor4d(b.x, [count * frames, FEATURE_NET_SIZE, FEATURE_NET_SIZE, 3]);
      const classes = tf.tensor2d(b.classes, [count, TARGET_GROUPS], 'int32');
      const out = featureNetForward(p, x, count, frames, true);
      return tf.add(
        lossOf(out.outputs, classes, phase1 ? undefined : tf.tensor1d(b.speed)),
        auxLoss(out.aux!, b),
      ) as tf.Scalar;
    }, lr);
    smoothed = Number.isNaN(smoothed) || step === options.frameSteps ? loss : 0.95 * smoothed + 0.05 * loss;
    if (step % 25 === 0 || step === total - 1) {
      const seconds = (performance.now() - started) / 1000;
      log(
        `${phase1 ? 'frames' : 'clips'} step ${step} loss ${loss.toFixed(4)} smoothed ${smoothed.toFixed(4)} lr ${lr.toExponential(2)} ${seconds.toFixed(0)}s`,
      );
    }
    if ((step + 1) % options.evalEvery === 0 && step + 1 < total) {
      log(`heldout @${step + 1}: ${JSON.stringify(await heldoutAccuracy(net, heldout))}`);
    }
  }
  await fixStandardisation(net, pool, options.normClips);
  log(`feature standardisation fixed on ${Math.min(options.normClips, pool.size)} pool clips`);
  const accuracy = await heldoutAccuracy(net, heldout);
  const seconds = (performance.now() - started) / 1000;
  log(`final heldout (${options.heldout} clips): ${JSON.stringify(accuracy)} after ${seconds.toFixed(0)}s`);
  await mkdir(options.out, { recursive: true });
  await net.save(options.out, {
    frameSteps: String(options.frameSteps),
    frameBatch: String(options.frameBatch),
    clipSteps: String(options.clipSteps),
    clipBatch: String(options.clipBatch),
    seed: String(options.seed),
    lr: String(options.lr),
    clipLr: String(options.clipLr),
    seconds: seconds.toFixed(0),
    ...(options.init ? { warmStartFrom: options.init } : {}),
    heldoutAccuracy: JSON.stringify(accuracy),
  });
  adam.dispose();
  adamClips.dispose();
  net.dispose();
  return accuracy;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'frame-steps': { type: 'string', default: '3000' },
      'frame-batch': { type: 'string', default: '64' },
      'clip-steps': { type: 'string', default: '400' },
      'clip-batch': { type: 'string', default: '16' },
      pool: { type: 'string', default: '2048' },
      refresh: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      lr: { type: 'string', default: '0.002' },
      'clip-lr': { type: 'string', default: '0.001' },
      out: { type: 'string', default: 'presets/feature-net' },
      heldout: { type: 'string', default: '256' },
      'eval-every': { type: 'string', default: '500' },
      init: { type: 'string' },
      'norm-clips': { type: 'string', default: '1024' },
      backend: { type: 'string', default: 'wasm' },
      log: { type: 'string' },
    },
  });
  const logFile = values.log;
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
    if (logFile) appendFileSync(logFile, `${line}\n`);
  };
  const info = await selectBackend({ backend: values.backend as BackendRequest });
  log(`backend ${info.reason}; args ${JSON.stringify(values)}`);
  await trainFeatureNet({
    frameSteps: Number(values['frame-steps']),
    frameBatch: Number(values['frame-batch']),
    clipSteps: Number(values['clip-steps']),
    clipBatch: Number(values['clip-batch']),
    pool: Number(values.pool),
    refresh: Number(values.refresh),
    seed: Number(values.seed),
    lr: Number(values.lr),
    clipLr: Number(values['clip-lr']),
    out: values.out,
    heldout: Number(values.heldout),
    evalEvery: Number(values['eval-every']),
    init: values.init,
    normClips: Number(values['norm-clips']),
    log,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
