import { allReduceMean, type GradientExchange } from '../backend/gradient-exchange.js';
import { tf } from '../backend/tf.js';
import { CascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { AdamW, type AdamWState } from './adamw.js';
import { clipGradientNorm } from './clip-gradient-norm.js';
import { Ema } from './ema.js';
import { fillFrameCorrelatedNoise } from './gaussian-noise.js';
import { learningRateAt } from './lr-schedule.js';
import { minSnrWeight } from './min-snr-weight.js';
import { NoiseSchedule } from './noise-schedule.js';
import { sizeOf } from './param-spec.js';
import { batchSizeRange, curriculumPhaseAt, type ResolvedTrainConfig } from './train-config.js';
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

/** What one update reports. */
export interface TrainStepResult {
  /** Sum over this replica's examples of the per-example MSE (divide the sum over ranks by the batch). */
  readonly lossSum: number;
  readonly examples: number;
  /** Global gradient norm before clipping (identical on every rank). */
  readonly gradNorm: number;
  readonly lr: number;
  /** Milliseconds spent building the batch, in forward/backward, and in exchange + update. */
  readonly timing: { readonly data: number; readonly compute: number; readonly update: number };
}

export interface TrainReplicaOptions {
  readonly rank?: number;
  readonly size?: number;
  /** Shared gradient buffer of a data-parallel run (required when size > 1). */
  readonly exchange?: GradientExchange | undefined;
  /** Continue from this state (a checkpoint) instead of a fresh initialisation. */
  readonly state?: TrainState | undefined;
  /**
   * Most examples per forward/backward pass; a larger share is split and its gradients summed
   * (same result up to float summation order). Bounds activation memory: the wasm heap is
   * limited to 4 GB per worker. Default: the whole share in one pass.
   */
  readonly microBatch?: number | undefined;
}

/**
 * One model replica with its optimiser, EMA and data source: the unit of data-parallel
 * training. Every rank holds identical weights; in an update each computes the gradients of
 * its share of the global batch, the shares are averaged through the shared exchange, and every
 * rank applies the same update (clipping, AdamW, EMA in plain JS over flat buffers), so the
 * replicas stay bit-identical without sending weights around.
 *
 * Per example i of the global batch at update s, everything random is derived from
 * (seed, s, i): the clip (data source), the timestep t ~ Uniform{0..N-1}, the prompt dropout
 * and the noise eps. The split over ranks only decides who computes which example.
 */
export class TrainReplica {
  readonly unet: VideoUNet;
  readonly layout: TrainParamLayout;
  readonly rank: number;
  readonly size: number;
  private readonly resolved: ResolvedTrainConfig;
  private readonly schedule: NoiseSchedule;
  private readonly data: TrainDataSource;
  private readonly exchange: GradientExchange | undefined;
  private readonly optimizer: AdamW;
  private readonly ema: Ema;
  /** Master copy of the weights; the UNet's variables are refreshed from it after each update. */
  private readonly weights: Float32Array;
  private readonly grads: Float32Array;
  private readonly variableNames: Map<string, string>;
  private readonly microBatch: number;
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
    this.exchange = options.exchange;
    this.microBatch = options.microBatch ?? config.batchSize;
    if (!Number.isInteger(this.microBatch) || this.microBatch < 1) {
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
    if (
      this.size > 1 &&
      (!this.exchange || this.exchange.length !== this.layout.size || this.exchange.size !== this.size)
    ) {
      throw new CascadeError(
        'INTERNAL',
        `Data-parallel replica ${this.rank}/${this.size} needs a gradient exchange of ${this.size} x ${this.layout.size} values.`,
      );
    }
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
    const unet = VideoUNet.create(architecture, { seed: deriveSeed(config.seed, 'init'), trainable: true });
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

  /** Examples [from, to) of a global batch of `batch` clips that this rank computes. */
  share(batch: number): [number, number] {
    const from = Math.floor((this.rank * batch) / this.size);
    const to = Math.floor(((this.rank + 1) * batch) / this.size);
    return [from, to];
  }

  /**
   * Applies update number `this.step`: builds this rank's share of the batch, computes the
   * gradients, averages them over ranks (blocking until every rank arrives), clips, steps AdamW
   * and the EMA, and refreshes the UNet's variables.
   */
  async trainStep(options: { totalSteps?: number | undefined } = {}): Promise<TrainStepResult> {
    const { config } = this.resolved;
    const step = this.updates;
    const { frames, batchSize } = curriculumPhaseAt(this.resolved, step);
    const [from, to] = this.share(batchSize);
    const started = performance.now();
    let dataMs = 0;
    let lossSum = 0;
    this.grads.fill(0);
    // microBatch counts clips of the architecture's length: shorter clips pack more per pass.
    const perPass = Math.max(1, Math.floor((this.microBatch * this.resolved.architecture.frames) / frames));
    for (let start = from; start < to; start += perPass) {
      const end = Math.min(to, start + perPass);
      const began = performance.now();
      const batch = await this.buildBatch(step, start, end, frames);
      dataMs += performance.now() - began;
      lossSum += this.accumulateGradients(batch, end - start, batchSize);
    }
    const computed = performance.now();
    if (this.size > 1) allReduceMean(this.exchange!, this.rank, this.grads);
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
      lossSum,
      examples: to - from,
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

  /** Adds d(scaled loss)/d(weights) of one micro-batch to this.grads; returns the sum of per-example (weighted) MSEs. */
  private accumulateGradients(batch: Batch, n: number, batchSize: number): number {
    const { config, architecture: a } = this.resolved;
    const shape: [number, number, number, number, number] = [n, batch.frames, a.height, a.width, 3];
    // Each rank's loss is sum_i mse_i * size / batch, so the mean over ranks of the gradients
    // is the gradient of the global-batch mean, whatever the shares.
    const scale = this.size / batchSize;
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
        const grads = this.grads;
        for (let i = 0; i < values.length; i++) grads[offset + i]! += values[i]!;
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

interface Batch {
  readonly x0: Float32Array;
  readonly eps: Float32Array;
  readonly tokens: Int32Array;
  readonly t: Int32Array;
  /** Frames per clip (the curriculum phase's). */
  readonly frames: number;
}
