import { readFootage } from '../data/read-footage.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import { CascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';
import type { TrainDataSource, TrainDataSourceContext } from './train-data-source.js';

export interface FootageSourceSettings {
  readonly dir: string;
  readonly fps: number | string;
  readonly clipsPerFile: number;
  readonly recursive: boolean;
  /** One prompt for every clip; '' trains unconditionally (the null prompt). */
  readonly prompt: string;
}

/**
 * A folder of the user's footage as a training source: every readable video is cut into clips
 * at the architecture's size (data/read-footage.ts: centre crop, area resize, fps resampling),
 * held in memory, and example (step, index) is clip Rng(seed, step, index).int(count).
 * Unreadable files are skipped (listed by readFootage); no usable clip at all is an error.
 */
export async function trainFootageSource(
  context: TrainDataSourceContext,
  settings: FootageSourceSettings,
): Promise<TrainDataSource> {
  const tokens = tokenizePrompt(settings.prompt, context.maxTokens);
  const footage = await readFootage(settings.dir, {
    height: context.height,
    width: context.width,
    frames: context.frames,
    fps: settings.fps,
    clipsPerFile: settings.clipsPerFile,
    recursive: settings.recursive,
  });
  if (footage.clips.length === 0) {
    const skipped = footage.skipped.map((s) => `${s.path}: ${s.reason}`).join('; ');
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `No training clip could be read from ${settings.dir} (${footage.files.length} file(s)${skipped ? `; ${skipped}` : ''}). Each video needs at least ${context.frames} frames at ${settings.fps} fps.`,
      { path: settings.dir },
    );
  }
  const clips = footage.clips.map((c) => c.clip.data);
  return {
    example(step, index) {
      const pick = new Rng(deriveSeed(context.seed, 'train-footage', step, index)).int(clips.length);
      return { clip: clips[pick]!, tokens };
    },
  };
}
