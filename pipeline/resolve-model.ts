import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readModelConfig } from '../model/model-files.js';
import { samplingFrameCorrelationOf } from '../model/noise-schedule.js';
import { CascadeError, isCascadeError } from '../util/cascade-error.js';
import { packageInfo } from '../util/package-info.js';
import { clipSettingsSchema } from './job-schema.js';
import type { ModelDescriptor } from './model-descriptor.js';

export const DEFAULT_MODEL = 'shapes-base';
/** Recommended clip settings beside a model's config.json (optional). */
export const RENDER_DEFAULTS_FILE = 'render-defaults.json';

/** Folder of the shipped model presets. */
export function modelPresetsDir(): string {
  return join(packageInfo().root, 'presets', 'models');
}

export function listModelPresets(): string[] {
  const dir = modelPresetsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'config.json')))
    .map((e) => e.name)
    .sort();
}

/**
 * Finds a model by preset name ("shapes-base") or folder path (anything with a slash or a
 * leading dot, relative to `baseDir`) and reads what planning needs from its config, without
 * loading weights. Errors name the `model` field.
 */
export async function resolveModel(
  nameOrPath: string | undefined,
  baseDir: string,
): Promise<ModelDescriptor> {
  const spec = nameOrPath ?? DEFAULT_MODEL;
  const isPath = spec.includes('/') || spec.includes('\\') || spec.startsWith('.');
  const dir = isPath ? resolve(baseDir, spec) : join(modelPresetsDir(), spec);
  if (!isPath && !existsSync(join(dir, 'config.json'))) {
    const presets = listModelPresets();
    throw new CascadeError(
      'INVALID_JOB',
      `model "${spec}" is not a model preset (presets: ${presets.length > 0 ? presets.join(', ') : 'none installed'}); give a preset name or the path of a model folder (e.g. ./models/my-model).`,
      { path: 'model' },
    );
  }
  let config: Awaited<ReturnType<typeof readModelConfig>>;
  try {
    config = await readModelConfig(dir);
  } catch (error) {
    if (isCascadeError(error)) {
      throw new CascadeError(error.code, `model: ${error.message}`, { path: 'model', cause: error });
    }
    throw error;
  }
  return {
    name: isPath ? basename(dir) : spec,
    dir,
    height: config.training.height,
    width: config.training.width,
    frames: config.training.frames,
    domain: 'shapes',
    sha256: config.weights.sha256,
    samplingFrameCorrelation: samplingFrameCorrelationOf(config.schedule),
    upsamplers: undefined,
    defaults: await readRenderDefaults(dir),
  };
}

/**
 * The clip settings a model folder recommends (its render-defaults.json; {} without one):
 * renders take them after the job's own, `cascade sample` after its flags.
 */
export async function readRenderDefaults(dir: string): Promise<ModelDescriptor['defaults']> {
  const file = join(dir, RENDER_DEFAULTS_FILE);
  if (!existsSync(file)) return {};
  const parsed = clipSettingsSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `${file} is not a valid set of clip settings: ${parsed.error.message}`,
      {
        path: file,
      },
    );
  }
  return parsed.data;
}
