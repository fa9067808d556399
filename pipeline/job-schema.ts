import { z } from 'zod';
import { encodeSpecSchema } from '../codecs/encode-presets.js';
import { frameCheckThresholdsSchema } from '../eval/frame-consistency.js';

/**
 * The job file: YAML or JSON, validated by this zod schema (`cascade schema` prints it as JSON
 * Schema for editors). Objects are strict: an unknown or misspelt field is an error, never a
 * silent default. Relative paths resolve against the job file's folder.
 */

export const CASCADE_MODES = ['tuning-free', 'direct', 'upsample', 'tuned'] as const;
export type CascadeMode = (typeof CASCADE_MODES)[number];
export const SAMPLERS = ['ddim', 'dpm-solver++'] as const;
export type SamplerName = (typeof SAMPLERS)[number];
export const UPSAMPLE_FILTERS = ['bilinear', 'bicubic', 'lanczos'] as const;
export type UpsampleFilter = (typeof UPSAMPLE_FILTERS)[number];
/** Each cascade stage doubles height and width, so a target scale is a power of two. */
export const SCALES = [1, 2, 4, 8] as const;

const int = (what: string, min: number, max: number) =>
  z
    .int({ error: `must be a whole number from ${min} to ${max} (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` })
    .max(max, { error: `must be at most ${max} (${what})` });

const num = (what: string, min: number, max: number) =>
  z
    .number({ error: `must be a number from ${min} to ${max} (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` })
    .max(max, { error: `must be at most ${max} (${what})` });

const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of: ${values.join(', ')}` });

export const inputVideoSchema = z.strictObject({
  path: z.string({ error: 'must be the path of a video file' }).min(1, { error: 'must not be empty' }),
  strength: num('how much of the input is replaced by noise: 0 keeps it, 1 ignores it', 0.01, 1).optional(),
});

/** Settings a clip can carry itself or inherit from `defaults`. */
export const clipSettingsShape = {
  seed: int('random seed', 0, 2 ** 32 - 1).optional(),
  frames: int('frames per clip', 1, 1024).optional(),
  fps: num('frames per second', 1, 240).optional(),
  scale: z
    .union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)], {
      error: `must be one of: ${SCALES.join(', ')} (output size = model size x scale per side)`,
    })
    .optional(),
  mode: choice(CASCADE_MODES).optional(),
  sampler: choice(SAMPLERS).optional(),
  steps: int('denoising steps of the full schedule', 1, 1000).optional(),
  eta: num('DDIM stochasticity: 0 is deterministic', 0, 1).optional(),
  guidance: num('classifier-free guidance scale; 1 disables it', 0, 30).optional(),
  frameCorrelation: num(
    "correlation of the sampling noise between frames: higher keeps the frames more alike; default: the model's",
    0,
    0.999,
  ).optional(),
  k: int('pivot replacement: the step of 1000 where upper stages start', 1, 999).optional(),
  upsampleFilter: choice(UPSAMPLE_FILTERS).optional(),
  input: inputVideoSchema.optional(),
} as const;

export const clipSettingsSchema = z.strictObject(clipSettingsShape);
export type ClipSettings = z.infer<typeof clipSettingsSchema>;

export const CLIP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const clipSchema = z.strictObject({
  id: z.string({ error: 'must be a string' }).regex(CLIP_ID, {
    error: 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  }),
  prompt: z.string({ error: 'must be a text prompt' }).min(1, { error: 'must not be empty' }),
  ...clipSettingsShape,
});

export const outputSchema = z.strictObject({
  dir: z.string({ error: 'must be a folder path' }).min(1, { error: 'must not be empty' }),
  /**
   * File name (without extension) of each output; tokens: {id} {seed} {width} {height}
   * {frames} {fps} {mode} {preset}. May contain sub-folders, never leave `dir`.
   */
  pattern: z
    .string({ error: 'must be a file-name pattern' })
    .min(1, { error: 'must not be empty' })
    .optional(),
  /** One encode spec or a list of them (one output file per spec and clip). */
  encode: z
    .preprocess(
      (v) => (v === undefined || Array.isArray(v) ? v : [v]),
      z.array(encodeSpecSchema, { error: 'must be an encode spec or a list of them' }).min(1, {
        error: 'needs at least one encode spec',
      }),
    )
    .optional(),
  manifest: z.string({ error: 'must be a file name' }).min(1).optional(),
});

export const checksSchema = z.strictObject({
  /** A clip failing a frame-consistency check fails the job (exit code 6) instead of a warning. */
  failJob: z.boolean({ error: 'must be true or false' }).optional(),
  /** Overrides of the frame-check thresholds (see eval/frame-consistency.ts for each default). */
  thresholds: frameCheckThresholdsSchema.optional(),
});

export const limitsSchema = z.strictObject({
  /** Cap on output width x height x frames per clip, against absurd sizes. */
  maxPixelFrames: int('output width x height x frames', 1, 2 ** 40).optional(),
});

export const jobSchema = z.strictObject({
  version: z.literal(1, { error: 'must be 1 (the only job file version)' }).optional(),
  name: z.string({ error: 'must be a string' }).optional(),
  /** A model preset name (e.g. "shapes-base") or the path of a model folder. */
  model: z.string({ error: 'must be a model preset name or a model folder path' }).min(1).optional(),
  /** Seeds of clips without their own are derived from this and the clip id. */
  seed: int('job seed', 0, 2 ** 32 - 1).optional(),
  /** Worker threads for model compute (0 runs it in the calling thread). */
  workers: int('compute worker threads', 0, 64).optional(),
  defaults: clipSettingsSchema.optional(),
  clips: z
    .array(clipSchema, { error: 'must be a list of clips' })
    .min(1, { error: 'needs at least one clip' })
    .superRefine((clips, ctx) => {
      const seen = new Map<string, number>();
      clips.forEach((clip, i) => {
        const first = seen.get(clip.id);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'id'],
            message: `duplicates the id of clips.${first} ("${clip.id}")`,
          });
        } else seen.set(clip.id, i);
      });
    }),
  output: outputSchema,
  checks: checksSchema.optional(),
  limits: limitsSchema.optional(),
});

export type Job = z.infer<typeof jobSchema>;
export type JobInput = z.input<typeof jobSchema>;
