/**
 * Training loop of the base video diffusion model (eps or v prediction, MSE with optional
 * min-SNR weighting, t ~ U{0..N-1}),
 * data-parallel over a worker pool: every worker holds a TrainReplica, all replicas apply the
 * same averaged update, and this thread only tells them which update to run, logs, reports
 * progress and writes checkpoints (from rank 0's state) and the final model.
 *
 * Output folder layout:
 *   checkpoint.safetensors   latest exact-resume checkpoint (atomic)
 *   loss.csv                 step, loss, lr, grad_norm, seconds
 *   loss.png                 loss plot (redrawn at every checkpoint)
 *   model/                   model.safetensors (EMA weights) + config.json (model-files.ts)
 *   model/training.json      the full training config, time taken, final metrics
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { abortGradientExchange, createGradientExchange } from '../backend/gradient-exchange.js';
import { type BackendRequest, selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { type TaskRef, taskModuleUrl, WorkerPool } from '../backend/worker-pool.js';
import { VOCABULARY } from '../data/vocabulary.js';
import { CascadeError } from '../util/cascade-error.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { writeLossPlot } from './loss-plot.js';
import { saveModelDir } from './model-files.js';
import { readTrainCheckpoint, writeTrainCheckpoint } from './train-checkpoint.js';
import {
  batchSizeRange,
  parseTrainBaseConfig,
  type ResolvedTrainConfig,
  type TrainBaseConfigInput,
  unitsPerStep,
} from './train-config.js';
import { appendLossLog, type LossLogRow, readLossLog, truncateLossLog } from './train-loss-log.js';
import { trainParamLayout } from './train-param-layout.js';
import { TrainReplica, type TrainState, type TrainStepResult, updateLoss } from './train-replica.js';
import type { InitReplicaPayload } from './train-worker.js';
import { VideoUNet, videoUNetParamSpecs } from './video-unet.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const LOSS_LOG_FILE = 'loss.csv';
export const LOSS_PLOT_FILE = 'loss.png';
export const MODEL_DIR = 'model';
export const TRAINING_REPORT_FILE = 'training.json';

/**
 * Final loss = mean of the last 10% of the logged losses, at most this many (one step's loss
 * is noisy; early losses are not final).
 */
const FINAL_LOSS_WINDOW = 200;
/** ETA from the mean duration of the last this many steps. */
const ETA_WINDOW = 20;

export interface TrainBaseOptions {
  /** The run's config; ignored when resuming from a checkpoint (which holds its own). */
  readonly config?: TrainBaseConfigInput | undefined;
  readonly outDir: string;
  /** Continue from `outDir/checkpoint.safetensors`. */
  readonly resume?: boolean | undefined;
  /** When resuming: change the run's total steps (extends or shortens the cosine schedule). */
  readonly totalSteps?: number | undefined;
  /** Worker threads (data-parallel ranks); 0 = train in this thread. Default min(2, cores, batch). */
  readonly workers?: number | undefined;
  readonly backend?: BackendRequest | undefined;
  /** Most clips per forward/backward pass in a worker (gradients are accumulated); default: its whole share. */
  readonly microBatch?: number | undefined;
  /**
   * New runs only: set the number of steps from a wall-clock budget. The first steps (up to 20,
   * within the LR warmup, whose rate does not depend on the run length) are timed, and the run
   * is given as many steps as fit in the budget at that pace (the config's `steps` is replaced,
   * in checkpoints and the saved model too).
   */
  readonly timeBudgetMinutes?: number | undefined;
  /** Stop after this many updates (with a checkpoint) even if the run is longer. */
  readonly untilStep?: number | undefined;
  /** Stops after the current update, writes a checkpoint, and returns status 'interrupted'. */
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((event: TrainBaseProgress) => void) | undefined;
  /** This session's command line; the first session's is recorded in the model's config.json. */
  readonly command?: string | undefined;
}

export type TrainBaseProgress =
  | {
      readonly stage: 'start';
      readonly step: number;
      readonly totalSteps: number;
      readonly parameters: number;
      readonly backend: string;
      readonly workers: number;
      readonly resumed: boolean;
    }
  | {
      readonly stage: 'step';
      /** Updates done (1-based). */
      readonly step: number;
      readonly totalSteps: number;
      readonly loss: number;
      readonly lr: number;
      readonly gradNorm: number;
      readonly elapsedSeconds: number;
      readonly secondsPerStep: number;
      readonly etaSeconds: number;
      /** step / totalSteps. */
      readonly fraction: number;
      /** Mean per-update milliseconds of the slowest rank: data, forward/backward, exchange + update. */
      readonly timing: TrainStepResult['timing'];
    }
  | {
      readonly stage: 'budget';
      /** The run's new length. */
      readonly totalSteps: number;
      readonly secondsPerStep: number;
      readonly minutes: number;
    }
  | { readonly stage: 'checkpoint'; readonly step: number; readonly path: string }
  | { readonly stage: 'model'; readonly path: string };

export interface TrainBaseResult {
  /** completed: all steps done and the model saved; paused: stopped at untilStep; interrupted: by the signal. */
  readonly status: 'completed' | 'paused' | 'interrupted';
  readonly step: number;
  readonly totalSteps: number;
  readonly elapsedSeconds: number;
  readonly checkpointPath: string;
  readonly lossLogPath: string;
  readonly lossPlotPath: string;
  /** Present when completed. */
  readonly modelDir?: string;
  /** Mean loss over the last 10% of logged steps (at most 200). */
  readonly finalLoss: number | undefined;
  readonly backend: string;
  readonly workers: number;
}

/** Trains (or resumes) a base model; see the file comment for what it writes. */
export async function trainBase(options: TrainBaseOptions): Promise<TrainBaseResult> {
  const outDir = options.outDir;
  const checkpointPath = join(outDir, CHECKPOINT_FILE);
  const lossLogPath = join(outDir, LOSS_LOG_FILE);
  const lossPlotPath = join(outDir, LOSS_PLOT_FILE);

  let resolved: ResolvedTrainConfig;
  let resumeFrom: string | undefined;
  let elapsedBefore = 0;
  let startStep = 0;
  let commands: string[] = [];
  if (options.resume) {
    if (!existsSync(checkpointPath)) {
      throw new CascadeError(
        'FILE_NOT_FOUND',
        `Cannot resume: ${checkpointPath} does not exist. Start a new run without --resume, or point --out at the folder of the run to resume.`,
        { path: checkpointPath },
      );
    }
    const checkpoint = await readTrainCheckpoint(checkpointPath);
    const config =
      options.totalSteps === undefined
        ? checkpoint.config
        : { ...checkpoint.config, steps: options.totalSteps };
    resolved = parseTrainBaseConfig(config);
    resumeFrom = checkpointPath;
    elapsedBefore = checkpoint.elapsedSeconds;
    startStep = checkpoint.state.step;
    commands = [...checkpoint.commands];
  } else {
    if (options.config === undefined) {
      throw new CascadeError('BAD_ARGUMENT', 'trainBase needs a config when not resuming.', {
        path: 'config',
      });
    }
    resolved = parseTrainBaseConfig(options.config);
    if (existsSync(checkpointPath)) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${outDir} already holds a training run (${CHECKPOINT_FILE}); resume it with --resume or choose another output folder.`,
        { path: outDir },
      );
    }
  }
  commands.push(options.command ?? '');
  let { config } = resolved;
  let totalSteps = config.steps;
  let untilStep = Math.min(options.untilStep ?? totalSteps, totalSteps);
  const budget = options.timeBudgetMinutes;
  let calibrateAt = 0;
  if (budget !== undefined) {
    calibrateAt = Math.min(20, config.learningRate.warmupSteps);
    if (resumeFrom || !(budget > 0) || calibrateAt < 2 || config.frameCurriculum.length > 0) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        resumeFrom
          ? 'A time budget applies to new runs only; a resumed run keeps its length (change it with --steps).'
          : config.frameCurriculum.length > 0
            ? 'A time budget times the first steps, and a frame curriculum makes those unlike the rest of the run; give the length with --steps instead (or train without a curriculum: --frame-curriculum none).'
            : `The time budget needs a positive number of minutes (got ${budget}) and learningRate.warmupSteps >= 2 (got ${config.learningRate.warmupSteps}); the pace is measured during warmup.`,
        { path: 'timeBudgetMinutes' },
      );
    }
  }
  // Every worker needs at least one clip in every update, also in curriculum phases.
  const smallestBatch = batchSizeRange(config).min;
  const workers = options.workers ?? Math.max(1, Math.min(2, availableParallelism(), smallestBatch));
  if (!Number.isInteger(workers) || workers < 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `workers is ${workers}, expected an integer >= 0 (0 = train in this thread).`,
      {
        path: 'workers',
      },
    );
  }
  if (workers > smallestBatch) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `workers (${workers}) exceeds the smallest batch size of the run (${smallestBatch}); every worker needs at least one clip per step.`,
      { path: 'workers' },
    );
  }

  await mkdir(outDir, { recursive: true });
  let logRows: LossLogRow[];
  if (resumeFrom) {
    logRows = await truncateLossLog(lossLogPath, startStep);
  } else {
    logRows = [];
    await appendLossLog(lossLogPath, [], true);
  }

  const group =
    workers === 0
      ? await LocalGroup.create(options.backend)
      : await PoolGroup.create(workers, options.backend);
  let status: TrainBaseResult['status'] = 'paused';
  let step = startStep;
  let sessionStart = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - sessionStart) / 1000;
  try {
    const init = await group.init(
      { config, checkpointPath: resumeFrom, microBatch: options.microBatch },
      resolved,
    );
    if (init.step !== startStep) {
      throw new CascadeError('INTERNAL', `Replicas started at step ${init.step}, expected ${startStep}.`);
    }
    options.onProgress?.({
      stage: 'start',
      step: startStep,
      totalSteps,
      parameters: init.parameters,
      backend: init.backend,
      workers,
      resumed: resumeFrom !== undefined,
    });
    sessionStart = performance.now();
    const recent: number[] = [];
    let lastCheckpoint = startStep;
    while (step < untilStep) {
      if (options.signal?.aborted) {
        status = 'interrupted';
        break;
      }
      const began = performance.now();
      const results = await group.step(step, totalSteps);
      step += 1;
      const seconds = (performance.now() - began) / 1000;
      recent.push(seconds);
      if (recent.length > ETA_WINDOW) recent.shift();
      const loss = updateLoss(results);
      const first = results[0]!;
      const row: LossLogRow = { step, loss, lr: first.lr, gradNorm: first.gradNorm, seconds: elapsed() };
      logRows.push(row);
      await appendLossLog(lossLogPath, [row], false);
      const secondsPerStep = recent.reduce((a, b) => a + b, 0) / recent.length;
      options.onProgress?.({
        stage: 'step',
        step,
        totalSteps,
        loss,
        lr: first.lr,
        gradNorm: first.gradNorm,
        elapsedSeconds: row.seconds,
        secondsPerStep,
        etaSeconds: secondsPerStep * (untilStep - step),
        fraction: step / totalSteps,
        timing: slowest(results),
      });
      if (!Number.isFinite(loss)) {
        throw new CascadeError(
          'INTERNAL',
          `Training diverged at step ${step}: the loss is ${loss}. Lower the learning rate (learningRate.peak ${config.learningRate.peak}) or resume from the last checkpoint (step ${lastCheckpoint}).`,
        );
      }
      if (budget !== undefined && step === calibrateAt) {
        // Step 1 includes warm-up costs (module loading, kernel setup); time the rest.
        const timed = recent.slice(1);
        const pace = timed.length > 0 ? timed.reduce((a, b) => a + b, 0) / timed.length : seconds;
        const left = budget * 60 - (elapsed() - elapsedBefore);
        totalSteps = Math.max(step + 1, step + Math.floor(left / pace));
        untilStep = Math.min(options.untilStep ?? totalSteps, totalSteps);
        config = { ...config, steps: totalSteps };
        resolved = { ...resolved, config };
        options.onProgress?.({ stage: 'budget', totalSteps, secondsPerStep: pace, minutes: budget });
      }
      if (step % config.checkpointEvery === 0 && step < untilStep) {
        await saveCheckpoint();
        lastCheckpoint = step;
      }
    }
    if (step >= totalSteps) status = 'completed';
    if (lastCheckpoint !== step || !existsSync(checkpointPath)) await saveCheckpoint();
    else await writeLossPlot(lossPlotPath, logRows);

    let modelDir: string | undefined;
    if (status === 'completed') {
      modelDir = join(outDir, MODEL_DIR);
      const state = await group.state();
      await saveTrainedModel(modelDir, resolved, state.ema.values, {
        commands,
        seconds: elapsed(),
        finalLoss: finalLoss(logRows),
        backend: init.backend,
        workers,
      });
      options.onProgress?.({ stage: 'model', path: modelDir });
    }
    return {
      status,
      step,
      totalSteps,
      elapsedSeconds: elapsed(),
      checkpointPath,
      lossLogPath,
      lossPlotPath,
      ...(modelDir === undefined ? {} : { modelDir }),
      finalLoss: finalLoss(logRows),
      backend: init.backend,
      workers,
    };
  } finally {
    await group.close();
  }

  async function saveCheckpoint(): Promise<void> {
    const state = await group.state();
    await writeTrainCheckpoint(checkpointPath, { config, state, elapsedSeconds: elapsed(), commands });
    await writeLossPlot(lossPlotPath, logRows);
    options.onProgress?.({ stage: 'checkpoint', step: state.step, path: checkpointPath });
  }
}

/** Writes `dir` (model-files.ts format) from flat EMA weights, plus training.json. */
export async function saveTrainedModel(
  dir: string,
  resolved: ResolvedTrainConfig,
  emaWeights: Float32Array,
  report: {
    /** Every session's command line, the one that started the run first. */
    commands: readonly string[];
    seconds: number;
    finalLoss: number | undefined;
    backend: string;
    workers: number;
  },
): Promise<void> {
  const { architecture, config } = resolved;
  if (architecture.vocabSize !== VOCABULARY.length) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `architecture.vocabSize is ${architecture.vocabSize} but the prompt vocabulary has ${VOCABULARY.length} words; set vocabSize to ${VOCABULARY.length}.`,
      { path: 'architecture.vocabSize' },
    );
  }
  await tf.ready();
  const layout = trainParamLayout(videoUNetParamSpecs(architecture));
  const weights = new Map<string, Float32Array>();
  for (const name of layout.names) {
    const offset = layout.offsets.get(name)!;
    const size = (layout.shapes.get(name) ?? []).reduce((a, b) => a * b, 1);
    weights.set(name, emaWeights.subarray(offset, offset + size));
  }
  const unet = VideoUNet.fromWeights(architecture, weights);
  try {
    await saveModelDir(dir, unet, {
      schedule: config.schedule,
      vocabulary: VOCABULARY,
      // The command that started the run reproduces it; resumed sessions are in training.json.
      trainingCommand: report.commands[0] ?? '',
      seed: config.seed,
    });
  } finally {
    unet.dispose();
  }
  const trainingReport = {
    command: report.commands[0] ?? '',
    sessions: report.commands,
    seed: config.seed,
    seconds: Math.round(report.seconds * 10) / 10,
    steps: config.steps,
    metrics: { finalLoss: report.finalLoss, finalLossOver: 'the last 10% of steps, at most 200' },
    backend: report.backend,
    workers: report.workers,
    weights: 'ema',
    config,
    finishedAt: new Date().toISOString(),
  };
  await writeFileAtomic(join(dir, TRAINING_REPORT_FILE), `${JSON.stringify(trainingReport, null, 2)}\n`);
}

/** Reads back a run's loss log (for reports and plots). */
export async function readRunLossLog(outDir: string): Promise<LossLogRow[]> {
  return readLossLog(join(outDir, LOSS_LOG_FILE));
}

function finalLoss(rows: readonly LossLogRow[]): number | undefined {
  if (rows.length === 0) return undefined;
  const tail = rows.slice(-Math.min(FINAL_LOSS_WINDOW, Math.ceil(rows.length / 10)));
  return tail.reduce((sum, r) => sum + r.loss, 0) / tail.length;
}

function slowest(results: readonly TrainStepResult[]): TrainStepResult['timing'] {
  return results.reduce((worst, r) =>
    r.timing.data + r.timing.compute > worst.timing.data + worst.timing.compute ? r : worst,
  ).timing;
}

/** The replicas of a run, in this thread or in a worker pool. */
interface ReplicaGroup {
  init(
    payload: Omit<InitReplicaPayload, 'exchange'>,
    resolved: ResolvedTrainConfig,
  ): Promise<{ step: number; parameters: number; backend: string }>;
  step(step: number, totalSteps: number): Promise<TrainStepResult[]>;
  /** Rank 0's state (all ranks are identical). */
  state(): Promise<TrainState>;
  close(): Promise<void>;
}

class LocalGroup implements ReplicaGroup {
  private replica: TrainReplica | undefined;
  private backend = '';

  static async create(backend: BackendRequest | undefined): Promise<LocalGroup> {
    const group = new LocalGroup();
    group.backend = (await selectBackend({ backend })).name;
    return group;
  }

  async init(payload: Omit<InitReplicaPayload, 'exchange'>, resolved: ResolvedTrainConfig) {
    const state = payload.checkpointPath
      ? (await readTrainCheckpoint(payload.checkpointPath)).state
      : undefined;
    this.replica = await TrainReplica.create(resolved, { state, microBatch: payload.microBatch });
    return { step: this.replica.step, parameters: this.replica.layout.size, backend: this.backend };
  }

  async step(step: number, totalSteps: number): Promise<TrainStepResult[]> {
    if (this.replica!.step !== step)
      throw new CascadeError('INTERNAL', `Replica at ${this.replica!.step}, asked for ${step}.`);
    return [await this.replica!.trainStep({ totalSteps })];
  }

  async state(): Promise<TrainState> {
    return this.replica!.getState();
  }

  async close(): Promise<void> {
    await this.replica?.dispose();
    this.replica = undefined;
  }
}

class PoolGroup implements ReplicaGroup {
  private exchange: ReturnType<typeof createGradientExchange> | undefined;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly backend: string,
  ) {}

  static async create(size: number, backend: BackendRequest | undefined): Promise<PoolGroup> {
    const pool = await WorkerPool.create({ size, ...(backend === undefined ? {} : { backend }) });
    return new PoolGroup(pool, (await pool.backendInfo()).name);
  }

  async init(payload: Omit<InitReplicaPayload, 'exchange'>, resolved: ResolvedTrainConfig) {
    const length = trainParamLayout(videoUNetParamSpecs(resolved.architecture)).size;
    this.exchange =
      this.pool.size > 1 ? createGradientExchange(this.pool.size, unitsPerStep(resolved), length) : undefined;
    const results = await this.broadcast<{ step: number; parameters: number }>('initReplica', {
      ...payload,
      exchange: this.exchange,
    });
    const first = results[0]!;
    if (results.some((r) => r.step !== first.step)) {
      throw new CascadeError(
        'INTERNAL',
        `Replicas started at different steps: ${results.map((r) => r.step).join(', ')}.`,
      );
    }
    return { step: first.step, parameters: first.parameters, backend: this.backend };
  }

  step(step: number, totalSteps: number): Promise<TrainStepResult[]> {
    return this.broadcast<TrainStepResult>('trainReplicaStep', { step, totalSteps });
  }

  async state(): Promise<TrainState> {
    return this.pool.run<TrainState>(task('replicaState'), undefined, { rank: 0 });
  }

  async close(): Promise<void> {
    try {
      await this.broadcast('disposeReplica', undefined).catch(() => undefined);
    } finally {
      await this.pool.close({ force: true });
    }
  }

  private broadcast<T>(name: string, payload: unknown): Promise<T[]> {
    const exchange = this.exchange;
    return this.pool.broadcast<T>(task(name), () => payload, {
      onFailure: () => {
        if (exchange) abortGradientExchange(exchange);
      },
    });
  }
}

const WORKER_MODULE = taskModuleUrl('./train-worker', import.meta.url);

function task(name: string): TaskRef {
  return { module: WORKER_MODULE, name };
}
