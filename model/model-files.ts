/**
 * A model directory: `model.safetensors` (every parameter, F32, in parameter order) and
 * `config.json` (format version, architecture, noise schedule, training resolution, vocabulary,
 * training command and seed, sha256 of the weights file, parameter count). Loading verifies
 * all of it before any tensor exists.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CascadeError } from '../util/cascade-error.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { NoiseSchedule, NoiseScheduleConfig, type NoiseScheduleConfigInput } from './noise-schedule.js';
import { checkArrays, countParameters } from './param-spec.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsInput, toFloat32 } from './safetensors.js';
import { VideoUNet, videoUNetParamSpecs } from './video-unet.js';
import { VideoUNetConfig } from './video-unet-config.js';

export const MODEL_FORMAT_VERSION = 1;
export const MODEL_CONFIG_FILE = 'config.json';
export const MODEL_WEIGHTS_FILE = 'model.safetensors';
const MODEL_KIND = 'self-cascade/video-unet';

export const ModelFilesConfig = z.strictObject({
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  kind: z.literal(MODEL_KIND),
  architecture: VideoUNetConfig,
  schedule: NoiseScheduleConfig,
  training: z.strictObject({
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    frames: z.number().int().positive(),
    /** The command line that trained the weights, as given by the trainer. */
    command: z.string(),
    seed: z.string(),
  }),
  /** Token id i is vocabulary[i]; id 0 is PAD. Length = architecture.vocabSize. */
  vocabulary: z.array(z.string()),
  weights: z.strictObject({
    file: z.literal(MODEL_WEIGHTS_FILE),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    parameterCount: z.number().int().nonnegative(),
  }),
});
export type ModelFilesConfig = z.output<typeof ModelFilesConfig>;

export interface SaveModelOptions {
  readonly schedule: NoiseScheduleConfigInput;
  /** One word per token id, id 0 (PAD) first; length must equal the model's vocabSize. */
  readonly vocabulary: readonly string[];
  readonly trainingCommand: string;
  readonly seed: string | number;
}

export interface LoadedModel {
  readonly unet: VideoUNet;
  readonly schedule: NoiseSchedule;
  readonly config: ModelFilesConfig;
}

/**
 * Writes `dir/model.safetensors` then `dir/config.json` (each atomically; the config, which
 * names the weights' checksum, last). Creates `dir` if needed. Returns the written config.
 */
export async function saveModelDir(
  dir: string,
  unet: VideoUNet,
  options: SaveModelOptions,
): Promise<ModelFilesConfig> {
  const arch = unet.config;
  if (options.vocabulary.length !== arch.vocabSize) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `vocabulary has ${options.vocabulary.length} words, the model's vocabSize is ${arch.vocabSize}; pass one word per token id (PAD first).`,
      { path: 'vocabulary' },
    );
  }
  const schedule = new NoiseSchedule(options.schedule).config;
  const tensors = new Map<string, SafetensorsInput>();
  for (const [name, variable] of unet.params) {
    tensors.set(name, { dtype: 'F32', shape: variable.shape, data: variable.dataSync() as Float32Array });
  }
  const bytes = encodeSafetensors(tensors, {
    format: MODEL_KIND,
    formatVersion: String(MODEL_FORMAT_VERSION),
  });
  const config: ModelFilesConfig = {
    formatVersion: MODEL_FORMAT_VERSION,
    kind: MODEL_KIND,
    architecture: arch,
    schedule,
    training: {
      height: arch.height,
      width: arch.width,
      frames: arch.frames,
      command: options.trainingCommand,
      seed: String(options.seed),
    },
    vocabulary: [...options.vocabulary],
    weights: { file: MODEL_WEIGHTS_FILE, sha256: sha256(bytes), parameterCount: unet.parameterCount() },
  };
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, MODEL_WEIGHTS_FILE), bytes);
  await writeFileAtomic(join(dir, MODEL_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  return config;
}

/** Reads and validates `dir/config.json` only (no weights). */
export async function readModelConfig(dir: string): Promise<ModelFilesConfig> {
  const path = join(dir, MODEL_CONFIG_FILE);
  const text = (await readOrFail(path, 'Model config')).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CascadeError('INVALID_WEIGHTS', `${path} is not valid JSON (${(error as Error).message}).`, {
      path,
      cause: error,
    });
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== MODEL_FORMAT_VERSION) {
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `${path} has formatVersion ${JSON.stringify(version)}; this version of the project reads format ${MODEL_FORMAT_VERSION}. Re-export the model or use a matching release.`,
      { path, details: { formatVersion: version } },
    );
  }
  const parsed = ModelFilesConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.');
    throw new CascadeError('INVALID_WEIGHTS', `${path}: field "${field}" is invalid: ${issue.message}.`, {
      path,
      details: { field },
    });
  }
  const config = parsed.data;
  const arch = config.architecture;
  const inconsistent = (what: string): never => {
    throw new CascadeError('INVALID_WEIGHTS', `${path}: ${what}.`, { path });
  };
  if (config.vocabulary.length !== arch.vocabSize) {
    inconsistent(
      `vocabulary has ${config.vocabulary.length} words but architecture.vocabSize is ${arch.vocabSize}`,
    );
  }
  const t = config.training;
  if (t.height !== arch.height || t.width !== arch.width || t.frames !== arch.frames) {
    inconsistent(
      `training resolution ${t.frames}x${t.height}x${t.width} differs from the architecture's ${arch.frames}x${arch.height}x${arch.width}`,
    );
  }
  const count = countParameters(videoUNetParamSpecs(arch));
  if (config.weights.parameterCount !== count) {
    inconsistent(
      `weights.parameterCount is ${config.weights.parameterCount}, the architecture has ${count} parameters`,
    );
  }
  return config;
}

/**
 * Loads and verifies a model directory: FILE_NOT_FOUND for a missing directory or file,
 * INVALID_WEIGHTS (with the file path) for an unknown format version, an invalid config, a
 * checksum mismatch, a malformed weights file, or tensors whose names, dtypes or shapes do not
 * match the architecture. The model is frozen unless `trainable` is set.
 */
export async function loadModelDir(dir: string, options: { trainable?: boolean } = {}): Promise<LoadedModel> {
  const config = await readModelConfig(dir);
  const path = join(dir, config.weights.file);
  const bytes = await readOrFail(path, 'Weights file');
  const digest = sha256(bytes);
  if (digest !== config.weights.sha256) {
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `${path} has sha256 ${digest}, but ${MODEL_CONFIG_FILE} expects ${config.weights.sha256}; the file is corrupt or from another model. Re-copy the model directory.`,
      { path, details: { expected: config.weights.sha256, actual: digest } },
    );
  }
  const file = decodeSafetensors(bytes, path);
  const specs = videoUNetParamSpecs(config.architecture);
  // Names both ways and sizes first (the clearest message for a wrong file), then dtypes and shapes.
  checkArrays(specs, new Map([...file.tensors].map(([name, entry]) => [name, entry.data])), path);
  const weights = new Map<string, Float32Array>();
  for (const spec of specs) {
    const entry = file.tensors.get(spec.name)!;
    if (entry.dtype === 'I32') {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `Tensor "${spec.name}" in ${path} is I32, expected a float dtype.`,
        {
          path,
          details: { tensor: spec.name },
        },
      );
    }
    if (entry.shape.length !== spec.shape.length || entry.shape.some((d, i) => d !== spec.shape[i])) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `Tensor "${spec.name}" in ${path} has shape [${entry.shape.join(', ')}], the architecture needs [${spec.shape.join(', ')}].`,
        { path, details: { tensor: spec.name } },
      );
    }
    weights.set(spec.name, toFloat32(entry));
  }
  const unet = VideoUNet.fromWeights(config.architecture, weights, {
    path,
    ...(options.trainable === undefined ? {} : { trainable: options.trainable }),
  });
  return { unet, schedule: new NoiseSchedule(config.schedule), config };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CascadeError(
        'FILE_NOT_FOUND',
        `${what} ${path} does not exist; is the model directory right?`,
        {
          path,
          cause: error,
        },
      );
    }
    throw new CascadeError('INVALID_WEIGHTS', `${what} ${path} cannot be read (${code ?? String(error)}).`, {
      path,
      cause: error,
    });
  }
}
