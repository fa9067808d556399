/**
 * Trains the evaluation feature network (eval/feature-net.ts) on rendered shapes clips and
 * writes presets/feature-net/feature-net.safetensors.
 *
 *   npx tsx eval/train-feature-net.ts --steps 900 --batch 16 --seed 1 --backend wasm \
 *     --out presets/feature-net [--log train.log]
 *
 * Training clips come from the endless shapes stream (train split, 32 x 32 x 16, seeded);
 * accuracies are measured on a fixed held-out set (the held-out split, disjoint seeds).
 * Adam with linear warmup and cosine decay; the loss is the sum of the softmax cross-entropies
 * of the count / background heads plus 4 x the squared error of the speed head.
 */
import { appendFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type BackendRequest, selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { makeShapesSet } from '../data/make-shapes-set.js';
import type { ShapesSample } from '../data/shapes-sample.js';
import { shapesStream } from '../data/shapes-stream.js';
import { createParams, lookupParams } from '../model/param-spec.js';
import {
  DEFAULT_FEATURE_NET_CONFIG,
  FEATURE_NET_FRAMES,
  FEATURE_NET_HEADS,
  FEATURE_NET_SIZE,
  FeatureNet,
  featureNetForward,
  featureNetInput,
  featureNetParams,
} from './feature-net.js';
import { featureNetTargets, TARGET_GROUPS } from './feature-net-targets.js';

export interface TrainFeatureNetOptions {
  readonly steps: number;
  readonly batch: number;
  readonly seed: number;
  readonly lr: number;
  readonly out: string;
  readonly heldout: number;
  readonly evalEvery: number;
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

const PER_CLIP = FEATURE_NET_FRAMES * FEATURE_NET_SIZE * FEATURE_NET_SIZE * 3;

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

/** Sum of per-group softmax cross-entropies + 4 x speed MSE. outputs [B, FEATURE_NET_OUTPUTS]. */
function lossOf(outputs: tf.Tensor2D, classes: tf.Tensor2D, speed: tf.Tensor1D): tf.Scalar {
  const b = outputs.shape[0];
  let offset = 0;
  let group = 0;
  const terms: tf.Scalar[] = [];
  for (const [, groups, n] of FEATURE_NET_HEADS) {
    if (n === 1) {
      const pred = tf.reshape(tf.slice(outputs, [0, offset], [b, 1]), [b]);
      terms.push(tf.mul(4, tf.mean(tf.square(tf.sub(pred, speed)))) as tf.Scalar);
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

/** Trains from scratch and saves the weights; returns the final held-out accuracies. */
export async function trainFeatureNet(options: TrainFeatureNetOptions): Promise<HeldoutAccuracy> {
  const log = options.log ?? (() => {});
  const config = DEFAULT_FEATURE_NET_CONFIG;
  const specs = featureNetParams(config);
  const params = createParams(specs, options.seed, true);
  const net = new FeatureNet(config, params);
  const p = lookupParams(params);
  const vars = [...params.values()];
  const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const s = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const beta1 = 0.9;
  const beta2 = 0.999;
  const heldout = makeShapesSet({ seed: options.seed, count: options.heldout, split: 'heldout' }).samples;
  const stream = shapesStream(options.seed);
  const warmup = Math.min(50, Math.floor(options.steps / 10));
  const started = performance.now();
  let smoothed = Number.NaN;
  for (let step = 0; step < options.steps; step++) {
    const lr =
      step < warmup
        ? (options.lr * (step + 1)) / warmup
        : options.lr *
          (0.05 +
            0.95 * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, options.steps - warmup))));
    const samples: ShapesSample[] = [];
    for (let i = 0; i < options.batch; i++) samples.push(stream.next().value);
    const { x, classes, speed } = batchTensors(samples);
    const lossValue = tf.tidy(() => {
      const xt = tf.tensor4d(x, [options.batch * FEATURE_NET_FRAMES, FEATURE_NET_SIZE, FEATURE_NET_SIZE, 3]);
      const ct = tf.tensor2d(classes, [options.batch, TARGET_GROUPS], 'int32');
      const st = tf.tensor1d(speed);
      const { value, grads } = tf.variableGrads(
        () => lossOf(featureNetForward(p, xt, options.batch).outputs, ct, st),
        vars,
      );
      const k = step + 1;
      const c1 = 1 - beta1 ** k;
      const c2 = 1 - beta2 ** k;
      vars.forEach((v, i) => {
        const g = grads[v.name]!;
        const mi = tf.add(tf.mul(beta1, m[i]!), tf.mul(1 - beta1, g));
        const si = tf.add(tf.mul(beta2, s[i]!), tf.mul(1 - beta2, tf.square(g)));
        m[i]!.assign(mi);
        s[i]!.assign(si);
        v.assign(tf.sub(v, tf.div(tf.mul(lr / c1, mi), tf.add(tf.sqrt(tf.div(si, c2)), 1e-8))));
      });
      return value;
    });
    const loss = (await lossValue.data())[0]!;
    lossValue.dispose();
    smoothed = Number.isNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
    if (step % 10 === 0 || step === options.steps - 1) {
      const seconds = (performance.now() - started) / 1000;
      log(
        `step ${step} loss ${loss.toFixed(4)} smoothed ${smoothed.toFixed(4)} lr ${lr.toExponential(2)} ${seconds.toFixed(0)}s`,
      );
    }
    if ((step + 1) % options.evalEvery === 0 && step + 1 < options.steps) {
      log(`heldout @${step + 1}: ${JSON.stringify(await heldoutAccuracy(net, heldout))}`);
    }
  }
  const accuracy = await heldoutAccuracy(net, heldout);
  const seconds = (performance.now() - started) / 1000;
  log(`final heldout (${options.heldout} clips): ${JSON.stringify(accuracy)} after ${seconds.toFixed(0)}s`);
  await mkdir(options.out, { recursive: true });
  await net.save(options.out, {
    trainedSteps: String(options.steps),
    batch: String(options.batch),
    seed: String(options.seed),
    lr: String(options.lr),
    seconds: seconds.toFixed(0),
    heldoutAccuracy: JSON.stringify(accuracy),
  });
  for (const v of [...m, ...s]) v.dispose();
  net.dispose();
  return accuracy;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '900' },
      batch: { type: 'string', default: '16' },
      seed: { type: 'string', default: '1' },
      lr: { type: 'string', default: '0.002' },
      out: { type: 'string', default: 'presets/feature-net' },
      heldout: { type: 'string', default: '256' },
      'eval-every': { type: 'string', default: '200' },
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
    steps: Number(values.steps),
    batch: Number(values.batch),
    seed: Number(values.seed),
    lr: Number(values.lr),
    out: values.out,
    heldout: Number(values.heldout),
    evalEvery: Number(values['eval-every']),
    log,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
