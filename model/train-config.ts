import { z } from 'zod';
import { CascadeError } from '../util/cascade-error.js';
import { NoiseScheduleConfig } from './noise-schedule.js';
import { parseVideoUNetConfig, type VideoUNetConfig } from './video-unet-config.js';

/**
 * Where training clips come from (plain data: it travels to every worker, which builds its own
 * source). Every source is deterministic in (seed, step, example index), so a resumed run and
 * a run split over a different number of workers see the same examples.
 * - `shapes`: the endless procedural shapes stream (train split only), rendered on the fly at
 *   the architecture's size.
 * - `shapes-set`: a saved shapes set (`*.shapes.gz`, data/save-shapes-set.ts), sampled
 *   uniformly with replacement.
 * - `footage`: a folder of the user's videos (data/read-footage.ts), cut into clips at the
 *   architecture's size, trained with `prompt` (default: the null prompt, i.e. unconditional).
 * - `module`: any ES module exporting a `TrainDataSourceFactory`, named by file path or URL.
 */
export const TrainDataSpec = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('shapes') }),
  z.strictObject({ kind: z.literal('shapes-set'), path: z.string().min(1) }),
  z.strictObject({
    kind: z.literal('footage'),
    dir: z.string().min(1),
    /** Frame rate the footage is resampled to. */
    fps: z.union([z.number().positive(), z.string().min(1)]).default(8),
    clipsPerFile: z.number().int().min(1).default(4),
    recursive: z.boolean().default(false),
    /** One prompt for every clip (words from the vocabulary); empty = unconditional. */
    prompt: z.string().default(''),
  }),
  z.strictObject({
    kind: z.literal('module'),
    module: z.string().min(1),
    export: z.string().min(1).default('createTrainDataSource'),
    /** Passed to the factory as `settings` (e.g. { dir: 'footage/' }). */
    settings: z.unknown().optional(),
  }),
]);
export type TrainDataSpec = z.output<typeof TrainDataSpec>;

/** The forward process of a run that names none: cosine, 1000 steps, i.i.d. noise. */
export const DEFAULT_NOISE_SCHEDULE: NoiseScheduleConfig = {
  kind: 'cosine',
  steps: 1000,
  offset: 0.008,
  maxBeta: 0.999,
  frameCorrelation: 0,
};

/**
 * Everything that determines a training run's result (runtime choices such as the number of
 * workers, the backend and the output folder are not part of it). Stored in every checkpoint
 * and in the model's config.json.
 */
export const TrainBaseConfig = z.strictObject({
  /** Video UNet architecture (model/video-unet-config.ts), validated separately. */
  architecture: z.record(z.string(), z.unknown()),
  schedule: NoiseScheduleConfig.default(DEFAULT_NOISE_SCHEDULE),
  /** Optimiser updates in the whole run. */
  steps: z.number().int().min(1),
  /** Clips per update, over all workers. */
  batchSize: z.number().int().min(1),
  learningRate: z
    .strictObject({
      peak: z.number().positive().max(1),
      warmupSteps: z.number().int().min(0).default(200),
      /** Floor of the cosine decay as a fraction of the peak. */
      minRatio: z.number().min(0).max(1).default(0.1),
    })
    .prefault({ peak: 2e-4 }),
  optimizer: z
    .strictObject({
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: z.number().positive().default(1e-8),
      /** Decoupled weight decay on kernels only (not biases, norms or embeddings). */
      weightDecay: z.number().min(0).default(0.01),
    })
    .prefault({}),
  /** Clip the global gradient norm to this (0 = off). */
  gradClip: z.number().min(0).default(1),
  ema: z
    .strictObject({
      decay: z.number().min(0).lt(1).default(0.999),
      warmup: z.boolean().default(true),
    })
    .prefault({}),
  /**
   * Min-SNR-gamma loss weighting (Hang et al. 2023), for either prediction target: each
   * example's MSE is multiplied by min(1, w(gamma) / w(SNR_t)), where w(SNR) = SNR for eps and
   * SNR + 1 for v is the weight the plain target puts on the x0 error. So steps with SNR above
   * gamma (little noise: fine detail) stop dominating the loss, and the noisier steps, where a
   * clip's layout, colours and object count are chosen, keep their full weight. Absent: plain MSE.
   */
  minSnrGamma: z.number().positive().optional(),
  /**
   * Frame curriculum: phases of shorter clips before the full-length ones. Updates before a
   * phase's `untilStep` (and after the previous phase's) train on `frames` consecutive frames of
   * each clip, a window at a random start, at the clip's own frame rate, with `batchSize` clips
   * per update (default: the run's); from the last `untilStep` on, whole clips at the run's
   * batch. The UNet runs at any frame count (frames are folded into the batch; temporal mixing
   * is convolution or attention along T), and a step's cost is about proportional to its
   * frames, so short phases buy many more updates, or many more scenes per update, for spatial
   * composition (layout, colours, counts) per hour; the final full-length phase trains temporal
   * coherence over the whole clip. Empty: whole clips throughout.
   */
  frameCurriculum: z
    .array(
      z.strictObject({
        untilStep: z.number().int().min(1),
        frames: z.number().int().min(1),
        batchSize: z.number().int().min(1).optional(),
      }),
    )
    .default([]),
  /**
   * Start from a saved model's weights instead of a random init: fine-tuning, e.g. the shipped
   * base on your own footage. `model` is the model folder (config.json + model.safetensors),
   * `sha256` its weights' checksum (the replicas refuse other weights, so the config names
   * exactly what the run started from). The run's architecture must be the model's. The
   * optimiser state starts fresh; the EMA starts at these weights.
   */
  init: z.strictObject({ model: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  /** Share of examples trained with the null (all-PAD) prompt, for classifier-free guidance. */
  promptDropout: z.number().min(0).max(1).default(0.1),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  data: TrainDataSpec.prefault({ kind: 'shapes' }),
  /** Write a checkpoint every this many steps (and always at the end or on interrupt). */
  checkpointEvery: z.number().int().min(1).default(500),
});
export type TrainBaseConfig = z.output<typeof TrainBaseConfig>;
export type TrainBaseConfigInput = z.input<typeof TrainBaseConfig>;

/** A validated config plus its parsed architecture. */
export interface ResolvedTrainConfig {
  readonly config: TrainBaseConfig;
  readonly architecture: VideoUNetConfig;
}

/** Validates a training config; BAD_ARGUMENT naming the first offending field otherwise. */
export function parseTrainBaseConfig(input: unknown, where = 'training'): ResolvedTrainConfig {
  const result = TrainBaseConfig.safeParse(input);
  if (!result.success) {
    const first = result.error.issues[0]!;
    const field = [where, ...first.path.map(String)].join('.');
    throw new CascadeError(
      'BAD_ARGUMENT',
      `${field}: ${first.message}. Fix the training config (model/train-config.ts).`,
      {
        path: field,
        details: { issues: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
      },
    );
  }
  const config = result.data;
  const architecture = parseVideoUNetConfig(config.architecture, `${where}.architecture`);
  config.frameCurriculum.forEach((phase, i) => {
    const previous = config.frameCurriculum[i - 1];
    const problem =
      phase.frames > architecture.frames
        ? `has ${phase.frames} frames, more than the architecture's ${architecture.frames}`
        : previous && phase.untilStep <= previous.untilStep
          ? `ends at step ${phase.untilStep}, not after the previous phase (${previous.untilStep})`
          : undefined;
    if (problem) {
      const field = `${where}.frameCurriculum.${i}`;
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${field} ${problem}. Phases run in order of untilStep, each with at most the architecture's frames.`,
        { path: field },
      );
    }
  });
  return { config: { ...config, architecture: { ...architecture } }, architecture };
}

/** Frames per clip and clips per update at update `step` (the frame curriculum's phase). */
export function curriculumPhaseAt(
  resolved: ResolvedTrainConfig,
  step: number,
): { readonly frames: number; readonly batchSize: number } {
  const { config, architecture } = resolved;
  const phase = config.frameCurriculum.find((p) => step < p.untilStep);
  return {
    frames: phase?.frames ?? architecture.frames,
    batchSize: phase?.batchSize ?? config.batchSize,
  };
}

/** The smallest and largest clips per update over the whole run. */
export function batchSizeRange(config: TrainBaseConfig): { readonly min: number; readonly max: number } {
  const sizes = [config.batchSize, ...config.frameCurriculum.map((p) => p.batchSize ?? config.batchSize)];
  return { min: Math.min(...sizes), max: Math.max(...sizes) };
}

/** Most units of work an update's batch is cut into (the data-parallel ranks pull units). */
export const MAX_UNITS_PER_STEP = 8;

/**
 * How update `step` is cut for data-parallel work: `units` units of `unitSize` clips (the last
 * may be smaller), each computed in passes of at most `perPass` clips. A unit holds at least a
 * whole clip's worth of frames (ceil(architecture frames / phase frames) clips) and a batch
 * makes at most MAX_UNITS_PER_STEP units, so 2 ranks can even out a slowed core with units to
 * spare. The cut never depends on the number of workers. `microBatch` counts clips of the
 * architecture's length per pass (shorter curriculum clips pack more); default: a whole unit.
 */
export function stepUnits(
  resolved: ResolvedTrainConfig,
  step: number,
  microBatch?: number,
): { frames: number; batchSize: number; unitSize: number; units: number; perPass: number } {
  const { frames, batchSize } = curriculumPhaseAt(resolved, step);
  const clipFrames = resolved.architecture.frames;
  const unitSize = Math.min(
    batchSize,
    Math.max(Math.ceil(batchSize / MAX_UNITS_PER_STEP), Math.ceil(clipFrames / frames)),
  );
  const perPass =
    microBatch === undefined ? unitSize : Math.max(1, Math.floor((microBatch * clipFrames) / frames));
  return { frames, batchSize, unitSize, units: Math.ceil(batchSize / unitSize), perPass };
}

/** The most units any update of the run is cut into: the gradient slots a run needs. */
export function unitsPerStep(resolved: ResolvedTrainConfig): number {
  const starts = [0, ...resolved.config.frameCurriculum.map((p) => p.untilStep)];
  return Math.max(...starts.map((step) => stepUnits(resolved, step).units));
}
