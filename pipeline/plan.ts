import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  ENCODE_PRESETS,
  type EncodeSpec,
  type ResolvedEncodeSettings,
  resolveEncodeSettings,
} from '../codecs/encode-presets.js';
import { parsePrompt } from '../data/parse-prompt.js';
import type { PromptConstraints } from '../data/prompt-constraints.js';
import { DEFAULT_FRAME_CHECK_THRESHOLDS, type FrameCheckThresholds } from '../eval/frame-consistency.js';
import { CascadeError, isCascadeError } from '../util/cascade-error.js';
import { deriveSeed } from '../util/rng.js';
import type { CascadeMode, ClipSettings, Job, SamplerName, UpsampleFilter } from './job-schema.js';
import type { ModelDescriptor } from './model-descriptor.js';

/** Where a resolved value came from, as `cascade plan` prints it. */
export type ValueSource = 'clip' | 'defaults' | 'preset' | 'builtin' | 'derived';

/** Built-in clip settings, used when neither the clip, the job defaults nor the model preset set a value. */
export const BUILTIN_CLIP_SETTINGS = {
  fps: 8,
  scale: 4,
  mode: 'tuning-free',
  sampler: 'ddim',
  steps: 50,
  eta: 0,
  guidance: 3,
  k: 700,
  upsampleFilter: 'lanczos',
} as const satisfies ClipSettings;

export const DEFAULT_INPUT_STRENGTH = 0.6;
export const DEFAULT_MAX_PIXEL_FRAMES = 1024 * 1024 * 64;
export const DEFAULT_OUTPUT_PATTERN = '{id}';
export const DEFAULT_ENCODE: EncodeSpec = { preset: 'h264' };

/** One stage of a clip's model work, in order. */
export type StagePlan =
  | { readonly kind: 'base'; readonly height: number; readonly width: number; readonly seed: number }
  | {
      readonly kind: 'pivot-replacement';
      readonly index: number;
      readonly height: number;
      readonly width: number;
      readonly seed: number;
    }
  | {
      readonly kind: 'tuned';
      readonly index: number;
      readonly height: number;
      readonly width: number;
      readonly seed: number;
    }
  | {
      readonly kind: 'resize';
      readonly index: number;
      readonly height: number;
      readonly width: number;
      readonly filter: UpsampleFilter;
    };

export interface PlannedOutput {
  readonly settings: ResolvedEncodeSettings;
  /** Absolute path of the file (or folder, for png-sequence). */
  readonly path: string;
  /** The same, relative to the output folder (what the manifest records). */
  readonly relativePath: string;
}

export interface ClipPlan {
  readonly index: number;
  readonly id: string;
  readonly prompt: string;
  readonly constraints: PromptConstraints;
  readonly seed: number;
  readonly frames: number;
  readonly fps: number;
  readonly scale: number;
  readonly mode: CascadeMode;
  readonly sampler: SamplerName;
  readonly steps: number;
  readonly eta: number;
  readonly guidance: number;
  /** Frame correlation of every sampling noise of the clip (starting noise, eta, re-noising). */
  readonly frameCorrelation: number;
  readonly k: number;
  readonly upsampleFilter: UpsampleFilter;
  readonly input: { readonly path: string; readonly strength: number } | undefined;
  readonly height: number;
  readonly width: number;
  readonly stages: readonly StagePlan[];
  readonly outputs: readonly PlannedOutput[];
  readonly sources: Readonly<Record<string, ValueSource>>;
  /** sha256 of everything that determines this clip's pixels and files: resume compares it. */
  readonly planHash: string;
}

export interface JobPlan {
  readonly name: string;
  readonly jobFile: string | undefined;
  readonly model: ModelDescriptor;
  readonly seed: number;
  readonly workers: number;
  readonly outputDir: string;
  readonly manifestPath: string;
  readonly failOnChecks: boolean;
  readonly checkThresholds: FrameCheckThresholds;
  readonly maxPixelFrames: number;
  readonly clips: readonly ClipPlan[];
}

export interface PlanContext {
  readonly model: ModelDescriptor;
  /** Folder relative paths of the job resolve against (the job file's folder). */
  readonly baseDir: string;
  readonly jobFile?: string | undefined;
  /** Worker threads when the job does not say (the CLI passes the machine's core count). */
  readonly defaultWorkers?: number;
}

const SETTING_KEYS = [
  'fps',
  'scale',
  'mode',
  'sampler',
  'steps',
  'eta',
  'guidance',
  'k',
  'upsampleFilter',
] as const;

/**
 * Resolves every value of a validated job: pure, no files touched. Throws INVALID_JOB /
 * INVALID_PROMPT / BAD_ARGUMENT naming the field path for anything the model or the codecs
 * cannot do, so errors surface before any tensor or process exists.
 */
export function planJob(job: Job, context: PlanContext): JobPlan {
  const { model } = context;
  const outputDir = resolve(context.baseDir, job.output.dir);
  const jobSeed = job.seed ?? 0;
  const maxPixelFrames = job.limits?.maxPixelFrames ?? DEFAULT_MAX_PIXEL_FRAMES;
  const pattern = job.output.pattern ?? DEFAULT_OUTPUT_PATTERN;
  const encodes: readonly EncodeSpec[] = (job.output.encode as EncodeSpec[] | undefined) ?? [DEFAULT_ENCODE];
  const manifestName = job.output.manifest ?? 'manifest.json';
  const manifestPath = insideOutput(outputDir, manifestName, 'output.manifest');

  const clips = job.clips.map((clip, index): ClipPlan => {
    const at = `clips.${index}`;
    const sources: Record<string, ValueSource> = {};
    /** clip > job defaults > model preset > `last` (a built-in or derived value). */
    const pick = <K extends (typeof SETTING_KEYS)[number] | 'frameCorrelation'>(
      key: K,
      last: [ValueSource, ClipSettings[K]],
    ): NonNullable<ClipSettings[K]> => {
      const chain: [ValueSource, ClipSettings[K] | undefined][] = [
        ['clip', clip[key]],
        ['defaults', job.defaults?.[key]],
        ['preset', model.defaults[key]],
        last,
      ];
      const found = chain.find(([, v]) => v !== undefined)!;
      sources[key] = found[0];
      return found[1] as NonNullable<ClipSettings[K]>;
    };
    const settings = Object.fromEntries(
      SETTING_KEYS.map((k) => [k, pick(k, ['builtin', BUILTIN_CLIP_SETTINGS[k]])]),
    ) as {
      [K in (typeof SETTING_KEYS)[number]]: NonNullable<ClipSettings[K]>;
    };

    const seedSource =
      clip.seed !== undefined ? 'clip' : job.defaults?.seed !== undefined ? 'defaults' : 'derived';
    const seed = clip.seed ?? job.defaults?.seed ?? deriveSeed(jobSeed, 'clip', clip.id);
    sources.seed = seedSource;

    const frames = clip.frames ?? job.defaults?.frames ?? model.defaults.frames ?? model.frames;
    sources.frames =
      clip.frames !== undefined ? 'clip' : job.defaults?.frames !== undefined ? 'defaults' : 'preset';
    if (frames !== model.frames) {
      fail(
        `${at}.frames`,
        `is ${frames}, but model "${model.name}" makes clips of ${model.frames} frames (the frozen base is trained at that length); use frames: ${model.frames}.`,
      );
    }

    let constraints: PromptConstraints;
    try {
      constraints = parsePrompt(clip.prompt);
    } catch (error) {
      if (isCascadeError(error, 'INVALID_PROMPT')) {
        throw new CascadeError('INVALID_PROMPT', `${at}.prompt: ${error.message}`, {
          path: `${at}.prompt`,
          cause: error,
        });
      }
      throw error;
    }

    const { scale, mode } = settings;
    const height = model.height * scale;
    const width = model.width * scale;
    if (height * width * frames > maxPixelFrames) {
      fail(
        `${at}.scale`,
        `gives ${width}x${height}x${frames} = ${height * width * frames} pixel-frames, above the limit of ${maxPixelFrames} (limits.maxPixelFrames); lower the scale or raise the limit.`,
      );
    }
    if (mode === 'tuned' && !model.upsamplers) {
      fail(
        `${at}.mode`,
        `is "tuned", but model "${model.name}" has no learned cascade upsamplers; train them with \`cascade adapt\` or use mode: tuning-free.`,
      );
    }
    if (settings.k > 999 || settings.k < 1) fail(`${at}.k`, `must be from 1 to 999, got ${settings.k}.`);

    const frameCorrelation = pick('frameCorrelation', ['derived', model.samplingFrameCorrelation]);

    const input = clip.input ?? job.defaults?.input;
    if (input) sources.input = clip.input ? 'clip' : 'defaults';
    const resolvedInput = input
      ? { path: resolve(context.baseDir, input.path), strength: input.strength ?? DEFAULT_INPUT_STRENGTH }
      : undefined;

    const stages = planStages(mode, scale, seed, model, settings.upsampleFilter);

    const outputs = encodes.map((spec, e): PlannedOutput => {
      const encodePath = `output.encode${encodes.length > 1 || Array.isArray(job.output.encode) ? `.${e}` : ''}`;
      const settingsForClip = resolveEncodeSettings(
        spec,
        { width, height, frames, fps: settings.fps },
        { path: encodePath },
      );
      const name = expandPattern(pattern, {
        id: clip.id,
        seed: String(seed),
        width: String(width),
        height: String(height),
        frames: String(frames),
        fps: String(settings.fps),
        mode,
        preset: spec.preset,
      });
      const file = insideOutput(
        outputDir,
        `${name}${ENCODE_PRESETS[spec.preset].extension}`,
        'output.pattern',
      );
      return { settings: settingsForClip, path: file, relativePath: relative(outputDir, file) };
    });

    const planHash = sha256Json({
      model: model.sha256,
      upsamplers: mode === 'tuned' ? model.upsamplers?.sha256 : undefined,
      prompt: clip.prompt,
      seed,
      frames,
      ...settings,
      frameCorrelation,
      input: resolvedInput,
      stages,
      outputs: outputs.map((o) => ({ path: o.relativePath, settings: o.settings })),
    });

    return {
      index,
      id: clip.id,
      prompt: clip.prompt,
      constraints,
      seed,
      frames,
      ...settings,
      frameCorrelation,
      input: resolvedInput,
      height,
      width,
      stages,
      outputs,
      sources,
      planHash,
    };
  });

  const taken = new Map<string, string>();
  for (const clip of clips) {
    for (const out of clip.outputs) {
      const other = taken.get(out.path);
      if (other) {
        fail(
          'output.pattern',
          `gives the same output path "${out.relativePath}" for ${other} and clip "${clip.id}"; add {id} or {preset} to the pattern.`,
        );
      }
      taken.set(out.path, `clip "${clip.id}"`);
    }
  }
  if (clips.some((c) => c.outputs.some((o) => o.path === manifestPath))) {
    fail('output.manifest', `"${manifestName}" collides with an output file; choose another manifest name.`);
  }

  return {
    name: job.name ?? 'job',
    jobFile: context.jobFile,
    model,
    seed: jobSeed,
    workers: job.workers ?? context.defaultWorkers ?? 1,
    outputDir,
    manifestPath,
    failOnChecks: job.checks?.failJob ?? false,
    checkThresholds: job.checks?.thresholds ?? DEFAULT_FRAME_CHECK_THRESHOLDS,
    maxPixelFrames,
    clips,
  };
}

function planStages(
  mode: CascadeMode,
  scale: number,
  seed: number,
  model: ModelDescriptor,
  filter: UpsampleFilter,
): StagePlan[] {
  const base = { height: model.height, width: model.width };
  if (scale === 1) return [{ kind: 'base', ...base, seed: deriveSeed(seed, 'stage', 0) }];
  if (mode === 'direct') {
    return [
      {
        kind: 'base',
        height: base.height * scale,
        width: base.width * scale,
        seed: deriveSeed(seed, 'stage', 0),
      },
    ];
  }
  const stages: StagePlan[] = [{ kind: 'base', ...base, seed: deriveSeed(seed, 'stage', 0) }];
  if (mode === 'upsample') {
    stages.push({ kind: 'resize', index: 1, height: base.height * scale, width: base.width * scale, filter });
    return stages;
  }
  // Each self-cascade stage doubles height and width, with its own pivot and noise.
  for (let index = 1, f = 2; f <= scale; index++, f *= 2) {
    stages.push({
      kind: mode === 'tuned' ? 'tuned' : 'pivot-replacement',
      index,
      height: base.height * f,
      width: base.width * f,
      seed: deriveSeed(seed, 'stage', index),
    });
  }
  return stages;
}

const PATTERN_TOKEN = /\{([a-z]+)\}/g;

function expandPattern(pattern: string, values: Record<string, string>): string {
  return pattern.replace(PATTERN_TOKEN, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      fail(
        'output.pattern',
        `has the unknown token ${whole}; tokens are ${Object.keys(values)
          .map((k) => `{${k}}`)
          .join(' ')}.`,
      );
    }
    return value!;
  });
}

/** Resolves `name` inside `dir`, refusing anything that would land outside it. */
function insideOutput(dir: string, name: string, field: string): string {
  if (isAbsolute(name) || name.includes('\0')) {
    fail(field, `gives "${name}", which must be a relative path inside output.dir.`);
  }
  const full = resolve(dir, name);
  const rel = relative(dir, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    fail(
      field,
      `gives "${name}", which escapes the output folder ${dir}; output files must stay inside output.dir.`,
    );
  }
  return join(dir, rel);
}

function fail(path: string, message: string): never {
  throw new CascadeError('INVALID_JOB', `${path} ${message}`, { path });
}

export function sha256Json(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
