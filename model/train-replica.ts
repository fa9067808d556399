import { isDeepStrictEqual } from 'node:util';
import { claimUnit, type GradientExchange, sumUnits, unitSlot } from '../backend/gradient-exchange.js';
import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { AdamW, type AdamWState } from './adamw.js';
import { clipGradientNorm } from './clip-gradient-norm.js';
import { Ema } from './ema.js';
import { fillFrameCorrelatedNoise } from './gaussian-noise.js';
import { learningRateAt } from './lr-schedule.js';
import { minSnrWeight } from './min-snr-weight.js';
import { loadModelDir } from './model-files.js';
import { NoiseSchedule } from './noise-schedule.js';
import { sizeOf } from './param-spec.js';
import {
  batchSizeRange,
  type ResolvedTrainConfig,
  stepUnits,
  type TrainBaseConfig,
  unitsPerStep,
} from './train-config.js';
import { createTrainDataSource, type TrainDataSource } from './train-data-source.js';
import { layoutSlice, type TrainParamLayout, trainParamLayout } from './train-param-layout.js';
import { VideoUNet, videoUNetParamSpecs } from './video-unet.js';

/** The exact state of a run after `step` updates (all plain data, flat in layout order). */
export interface TrainState {
  /** Updates applied so far; the next update is number `step` (0-based). */
  readonly step: number;
  readonly weights: Float32Array;
  readonly optimizer: AdamWState;
  readonly ema: { readonly step: number; readonly values: Float32Array };
}

/** The loss of one unit of an update's batch (see stepUnits). */
export interface UnitLoss {
  readonly unit: number;
  /** Sum over the unit's examples of the per-example (min-SNR-weighted) MSE. */
  readonly lossSum: number;
  readonly examples: number;
}

/** What one update reports. */
export interface TrainStepResult {
  /** The units this replica computed (every unit of the update is computed by exactly one rank). */
  readonly units: readonly UnitLoss[];
  /** Global gradient norm before clipping (identical on every rank). */
  readonly gradNorm: number;
  readonly lr: number;
  /** Milliseconds spent building the batch, in forward/backward, and in exchange + update. */
  readonly timing: { readonly data: number; readonly compute: number; readonly update: number };
}

export interface TrainReplicaOptions {
  readonly rank?: number;
  readonly size?: number;
  /** Shared gradient buffer of a data-parallel run (required when size > 1; see unitsPerStep). */
  readonly exchange?: GradientExchange | undefined;
  /** Continue from this state (a checkpoint) instead of a fresh initialisation. */
  readonly state?: TrainState | undefined;
  /**
   * Most clips of the architecture's length per forward/backward pass (shorter curriculum clips
   * pack more); a larger unit is computed in several passes. Bounds activation memory: the wasm
   * heap is limited to 4 GB per worker. Default: a whole unit in one pass (see stepUnits).
   */
  readonly microBatch?: number | undefined;
}

/**
 * One model replica with its optimiser, EMA and data source: the unit of data-parallel
 * training. Every rank holds identical weights; in an update the ranks pull units of the global
 * batch (stepUnits) from a shared counter, so a rank the host slows down takes fewer, write each
 * unit's gradients to its slot, and every rank sums the slots in unit order and applies the
 * same update (clipping, AdamW, EMA in plain JS over flat buffers). The replicas stay
 * bit-identical without sending weights around, and a run gives the same weights bit for bit on
 * any number of workers.
 *
 * Per example i of the global batch at update s, everything random is derived from
 * (seed, s, i): the clip (data source), the timestep t ~ Uniform{0..N-1}, the prompt dropout
 * and the noise eps. Which rank computes which unit changes nothing but the time.
 */
export class TrainReplica {
  readonly unet: VideoUNet;
  readonly layout: TrainParamLayout;
  readonly rank: number;
  readonly size: number;
  private readonly resolved: ResolvedTrainConfig;
  private readonly schedule: NoiseSchedule;
  private readonly data: TrainDataSource;
  /** The shared slots of a data-parallel run; undefined for a single replica. */
  private readonly exchange: GradientExchange | undefined;
  /** A single replica's one unit slot (it computes the units in order and adds each one in). */
  private readonly unitScratch: Float32Array | undefined;
  private readonly optimizer: AdamW;
  private readonly ema: Ema;
  /** Master copy of the weights; the UNet's variables are refreshed from it after each update. */
  private readonly weights: Float32Array;
  private readonly grads: Float32Array;
  private readonly variableNames: Map<string, string>;
  private readonly microBatch: number | undefined;
  private updates: number;

  private constructor(
    resolved: ResolvedTrainConfig,
    unet: VideoUNet,
    data: TrainDataSource,
    options: TrainReplicaOptions,
  ) {
    const { config } = resolved;
    this.resolved = resolved;
    this.unet = unet;
    this.data = data;
    this.rank = options.rank ?? 0;
    this.size = options.size ?? 1;
    this.microBatch = options.microBatch;
    if (this.microBatch !== undefined && (!Number.isInteger(this.microBatch) || this.microBatch < 1)) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `microBatch is ${options.microBatch}, expected an integer >= 1.`,
        {
          path: 'microBatch',
        },
      );
    }
    this.schedule = new NoiseSchedule(config.schedule);
    this.layout = trainParamLayout(videoUNetParamSpecs(resolved.architecture));
    const units = unitsPerStep(resolved);
    const exchange = options.exchange;
    if (
      this.size > 1 &&
      (!exchange ||
        exchange.length !== this.layout.size ||
        exchange.ranks !== this.size ||
        exchange.units < units)
    ) {
      throw new CascadeError(
        'INTERNAL',
        `Data-parallel replica ${this.rank}/${this.size} needs a gradient exchange of ${this.size} ranks and ${units} x ${this.layout.size} values.`,
      );
    }
    this.exchange = this.size > 1 ? exchange : undefined;
    this.unitScratch = this.size > 1 ? undefined : new Float32Array(this.layout.size);
    // Weight decay on kernels only: biases, norm gains and embeddings are not decayed.
    const decayMask = new Uint8Array(this.layout.size);
    for (const name of this.layout.names) {
      if (!name.endsWith('.kernel')) continue;
      const offset = this.layout.offsets.get(name)!;
      decayMask.fill(1, offset, offset + sizeOf(this.layout.shapes.get(name)!));
    }
    this.optimizer = new AdamW(this.layout.size, config.optimizer, decayMask);
    this.weights = new Float32Array(this.layout.size);
    for (const [name, variable] of unet.params) {
      this.weights.set(variable.dataSync() as Float32Array, this.layout.offsets.get(name)!);
    }
    this.ema = new Ema(this.weights, config.ema);
    this.grads = new Float32Array(this.layout.size);
    this.variableNames = new Map([...unet.params].map(([name, v]) => [v.name, name]));
    this.updates = 0;
    if (options.state) this.setState(options.state);
  }

  static async create(
    resolved: ResolvedTrainConfig,
    options: TrainReplicaOptions = {},
  ): Promise<TrainReplica> {
    const { config, architecture } = resolved;
    const data = await createTrainDataSource(config.data, {
      seed: config.seed,
      frames: architecture.frames,
      height: architecture.height,
      width: architecture.width,
      maxTokens: architecture.maxTokens,
      // Stream numbering by the largest batch of the run, so phases never reuse examples.
      batchSize: batchSizeRange(config).max,
    });
    let unet: VideoUNet;
    try {
      unet =
        config.init && !options.state
          ? await initialWeights(resolved, config.init)
          : VideoUNet.create(architecture, { seed: deriveSeed(config.seed, 'init'), trainable: true });
    } catch (error) {
      await data.close?.();
      throw error;
    }
    try {
      return new TrainReplica(resolved, unet, data, options);
    } catch (error) {
      unet.dispose();
      await data.close?.();
      throw error;
    }
  }

  /** Updates applied so far. */
  get step(): number {
    return this.updates;
  }

  /**
   * Applies update number `this.step`: claims units of the batch until none is left, computes
   * each one's gradients into its slot, sums the slots (blocking until every rank is done),
   * clips, steps AdamW and the EMA, and refreshes the UNet's variables.
   */
  async trainStep(options: { totalSteps?: number | undefined } = {}): Promise<TrainStepResult> {
    const { config } = this.resolved;
    const step = this.updates;
    const { frames, batchSize, unitSize, units, perPass } = stepUnits(this.resolved, step, this.microBatch);
    const started = performance.now();
    let dataMs = 0;
    const done: UnitLoss[] = [];
    const exchange = this.exchange;
    const scratch = this.unitScratch;
    // A single replica takes the units in order and adds each into the sum as it goes: the same
    // additions, in the same order, as sumUnits over the slots of a data-parallel run.
    let next = 0;
    const claim = (): number => (exchange ? claimUnit(exchange, units) : next < units ? next++ : -1);
    if (scratch) this.grads.fill(0);
    for (let unit = claim(); unit >= 0; unit = claim()) {
      const from = unit * unitSize;
      const to = Math.min(batchSize, from + unitSize);
      const slot = scratch ?? unitSlot(exchange!, unit);
      slot.fill(0);
      let lossSum = 0;
      for (let start = from; start < to; start += perPass) {
        const end = Math.min(to, start + perPass);
        const began = performance.now();
        const batch = await this.buildBatch(step, start, end, frames);
        dataMs += performance.now() - began;
        lossSum += this.accumulateGradients(batch, end - start, batchSize, slot);
      }
      if (scratch) {
        const grads = this.grads;
        for (let i = 0; i < grads.length; i++) grads[i]! += scratch[i]!;
      }
      done.push({ unit, lossSum, examples: to - from });
    }
    const computed = performance.now();
    if (exchange) sumUnits(exchange, units, this.grads);
    const gradNorm = clipGradientNorm(this.grads, config.gradClip);
    if (!Number.isFinite(gradNorm)) {
      throw new CascadeError(
        'INTERNAL',
        `Training diverged at step ${step}: the gradient norm is ${gradNorm}. Lower the learning rate (learningRate.peak ${config.learningRate.peak}) or resume from an earlier checkpoint.`,
        { details: { step } },
      );
    }
    const lr = learningRateAt(step, {
      peak: config.learningRate.peak,
      warmupSteps: config.learningRate.warmupSteps,
      minRatio: config.learningRate.minRatio,
      // The run's length may be set after the replicas start (a time budget), so it can come per step.
      totalSteps: options.totalSteps ?? config.steps,
    });
    this.optimizer.update(this.weights, this.grads, lr);
    this.ema.update(this.weights);
    this.uploadWeights();
    this.updates += 1;
    return {
      units: done,
      gradNorm,
      lr,
      timing: { data: dataMs, compute: computed - started - dataMs, update: performance.now() - computed },
    };
  }

  /** A copy of the full state. */
  getState(): TrainState {
    return {
      step: this.updates,
      weights: this.weights.slice(),
      optimizer: this.optimizer.getState(),
      ema: this.ema.getState(),
    };
  }

  setState(state: TrainState): void {
    if (state.weights.length !== this.layout.size) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `Training state has ${state.weights.length} weights, the architecture has ${this.layout.size}; the checkpoint does not match the config.`,
      );
    }
    this.optimizer.setState(state.optimizer);
    this.ema.setState(state.ema);
    this.weights.set(state.weights);
    this.updates = state.step;
    this.uploadWeights();
  }

  /** The EMA weights (a copy), the ones to sample with and ship. */
  emaWeights(): Float32Array {
    return this.ema.weights.slice();
  }

  async dispose(): Promise<void> {
    this.unet.dispose();
    await this.data.close?.();
  }

  private async buildBatch(step: number, from: number, to: number, frames: number): Promise<Batch> {
    const { config, architecture: a } = this.resolved;
    const n = to - from;
    const frameSize = a.height * a.width * 3;
    const fullSize = a.frames * frameSize;
    const clipSize = frames * frameSize;
    const x0 = new Float32Array(n * clipSize);
    const eps = new Float32Array(n * clipSize);
    const tokens = new Int32Array(n * a.maxTokens);
    const t = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const index = from + k;
      const example = await this.data.example(step, index);
      if (example.clip.length !== fullSize || example.tokens.length !== a.maxTokens) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `Training example (step ${step}, index ${index}) has ${example.clip.length} clip values and ${example.tokens.length} tokens, expected ${a.frames}x${a.height}x${a.width}x3 = ${fullSize} and ${a.maxTokens}. The data source must produce clips at the architecture's size.`,
          { path: 'data' },
        );
      }
      // A curriculum window of `frames` frames (its own random stream, so whole-clip runs draw
      // the same noise as before curricula existed).
      const first =
        frames < a.frames
          ? new Rng(deriveSeed(config.seed, 'train-window', step, index)).int(a.frames - frames + 1)
          : 0;
      const clip = example.clip.subarray(first * frameSize, (first + frames) * frameSize);
      // Pixels [0, 1] -> model range [-1, 1].
      const offset = k * clipSize;
      for (let i = 0; i < clipSize; i++) x0[offset + i] = clip[i]! * 2 - 1;
      const rng = new Rng(deriveSeed(config.seed, 'train-noise', step, index));
      t[k] = rng.int(this.schedule.steps);
      const dropped = rng.next() < config.promptDropout;
      if (!dropped) tokens.set(example.tokens, k * a.maxTokens);
      fillFrameCorrelatedNoise(
        eps.subarray(offset, offset + clipSize),
        1,
        frames,
        this.schedule.config.frameCorrelation,
        rng,
      );
    }
    return { x0, eps, tokens, t, frames };
  }

  /**
   * Adds d(loss)/d(weights) of one pass to `into`, the loss being the sum of per-example
   * (weighted) MSEs over the batch size (so the units sum to the batch mean); returns that sum.
   */
  private accumulateGradients(batch: Batch, n: number, batchSize: number, into: Float32Array): number {
    const { config, architecture: a } = this.resolved;
    const shape: [number, number, number, number, number] = [n, batch.frames, a.height, a.width, 3];
    const scale = 1 / batchSize;
    const variables = [...this.unet.params.values()];
    const steps = Array.from(batch.t);
    const scaledLoss = tf.tidy(() => {
      const x0 = tf.tensor(batch.x0, shape, 'float32');
      const eps = tf.tensor(batch.eps, shape, 'float32');
      const xt = this.schedule.qSample(x0, steps, eps) as tf.Tensor5D;
      const target = a.prediction === 'v' ? this.schedule.velocity(x0, steps, eps) : eps;
      const weights = tf.tensor1d(
        steps.map((step) => minSnrWeight(a.prediction, this.schedule.snr(step), config.minSnrGamma)),
      );
      const tokens = tf.tensor2d(batch.tokens, [n, a.maxTokens], 'int32');
      const t = tf.tensor1d(batch.t, 'int32');
      const { value, grads } = tf.variableGrads(() => {
        const predicted = this.unet.apply(xt, t as tf.Tensor1D, tokens).prediction!;
        const mse = tf.mean(tf.square(tf.sub(predicted, target)), [1, 2, 3, 4]);
        return tf.mul(tf.sum(tf.mul(mse, weights)), scale) as tf.Scalar;
      }, variables);
      for (const [tfName, grad] of Object.entries(grads)) {
        const name = this.variableNames.get(tfName);
        if (name === undefined) continue;
        const values = grad.dataSync() as Float32Array;
        const offset = this.layout.offsets.get(name)!;
        for (let i = 0; i < values.length; i++) into[offset + i]! += values[i]!;
      }
      return value;
    });
    try {
      return scaledLoss.dataSync()[0]! / scale;
    } finally {
      scaledLoss.dispose();
    }
  }

  private uploadWeights(): void {
    tf.tidy(() => {
      for (const [name, variable] of this.unet.params) {
        // A copy: some backends keep a reference to the array they are given.
        variable.assign(
          tf.tensor(layoutSlice(this.layout, this.weights, name).slice(), variable.shape, 'float32'),
        );
      }
    });
  }
}

/** The loss of an update over the ranks' results: unit losses summed in unit order, over the batch. */
export function updateLoss(results: readonly TrainStepResult[]): number {
  const units = results.flatMap((r) => r.units).sort((a, b) => a.unit - b.unit);
  const examples = units.reduce((sum, u) => sum + u.examples, 0);
  return units.reduce((sum, u) => sum + u.lossSum, 0) / examples;
}

interface Batch {
  readonly x0: Float32Array;
  readonly eps: Float32Array;
  readonly tokens: Int32Array;
  readonly t: Int32Array;
  /** Frames per clip (the curriculum phase's). */
  readonly frames: number;
}

/**
 * The trainable UNet of a fine-tuning run: the `init` model's weights, refused (BAD_ARGUMENT)
 * unless they are the checksum the config names and the model's architecture is the run's.
 */
async function initialWeights(
  resolved: ResolvedTrainConfig,
  init: NonNullable<TrainBaseConfig['init']>,
): Promise<VideoUNet> {
  const { unet, config } = await loadModelDir(init.model, { trainable: true });
  const problem =
    config.weights.sha256 !== init.sha256
      ? `holds weights with sha256 ${config.weights.sha256}, but the run starts from ${init.sha256}`
      : !isDeepStrictEqual(config.architecture, resolved.architecture)
        ? "has another architecture than the run's"
        : undefined;
  if (problem) {
    unet.dispose();
    throw new CascadeError(
      'BAD_ARGUMENT',
      `training.init.model ${init.model} ${problem}; start the run from that model's own files and architecture (cascade train-base --init DIR takes both from the folder).`,
      { path: 'training.init' },
    );
  }
  return unet;
}
