import { constants, existsSync, statSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findFfmpeg, findFfprobe } from '../codecs/find-ffmpeg.js';
import { probeVideo } from '../codecs/probe-video.js';
import { MODEL_WEIGHTS_FILE } from '../model/model-files.js';
import { CascadeError, isCascadeError } from '../util/cascade-error.js';
import type { MediaToolRecord } from './manifest.js';
import type { JobPlan } from './plan.js';

export interface PreflightResult {
  readonly ffmpeg: MediaToolRecord;
  readonly ffprobe: MediaToolRecord;
}

/**
 * Checks everything a plan needs from the machine before any work, writing nothing: ffmpeg and
 * ffprobe, the model weights, a writable output folder (or the nearest existing parent that
 * will hold it), and every input video (exists, decodes as video, long enough).
 */
export async function preflight(
  plan: JobPlan,
  options: { signal?: AbortSignal } = {},
): Promise<PreflightResult> {
  const [ffmpeg, ffprobe] = await Promise.all([findFfmpeg(), findFfprobe()]);
  if (!existsSync(join(plan.model.dir, MODEL_WEIGHTS_FILE))) {
    throw new CascadeError(
      'FILE_NOT_FOUND',
      `model: ${join(plan.model.dir, MODEL_WEIGHTS_FILE)} does not exist.`,
      {
        path: 'model',
      },
    );
  }
  await checkWritable(plan.outputDir);
  for (const clip of plan.clips) {
    if (!clip.input) continue;
    const field = `clips.${clip.index}.input.path`;
    if (!existsSync(clip.input.path)) {
      throw new CascadeError('FOOTAGE_UNREADABLE', `${field}: ${clip.input.path} does not exist.`, {
        path: field,
      });
    }
    let frames: number | null;
    try {
      const probe = await probeVideo(clip.input.path, { signal: options.signal });
      frames = probe.frameCount;
    } catch (error) {
      const why = isCascadeError(error) ? error.message : String(error);
      throw new CascadeError(
        'FOOTAGE_UNREADABLE',
        `${field}: ${clip.input.path} is not a readable video (${why}).`,
        {
          path: field,
          cause: error,
        },
      );
    }
    if (frames !== null && frames < 1) {
      throw new CascadeError('FOOTAGE_UNREADABLE', `${field}: ${clip.input.path} has no video frames.`, {
        path: field,
      });
    }
  }
  const record = (b: { path: string; version: string; sourceLabel: string }): MediaToolRecord => ({
    path: b.path,
    version: b.version,
    source: b.sourceLabel,
  });
  return { ffmpeg: record(ffmpeg), ffprobe: record(ffprobe) };
}

async function checkWritable(outputDir: string): Promise<void> {
  let dir = outputDir;
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (!statSync(dir).isDirectory()) {
    throw new CascadeError(
      'INVALID_JOB',
      `output.dir: ${dir} is a file, so ${outputDir} cannot be created.`,
      {
        path: 'output.dir',
      },
    );
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new CascadeError(
      'INVALID_JOB',
      `output.dir: ${dir === outputDir ? outputDir : `${dir} (the parent of ${outputDir})`} is not writable; choose another folder or fix its permissions.`,
      { path: 'output.dir' },
    );
  }
}
