import { tf } from '../backend/tf.js';
import type { Clip } from '../data/clip.js';
import type { LoadedModel } from '../model/model-files.js';
import { baseDenoise } from '../stages/base-denoise.js';
import { cascadeStage } from '../stages/cascade-stage.js';
import { decodeFrames } from '../stages/decode-frames.js';
import { prepareLatents } from '../stages/prepare-latents.js';
import type { StageName, StageProgress } from '../stages/stage-context.js';
import type { ClipPlan } from './plan.js';

/** The model work of one clip: its frames, the output of each stage before the last, and timings. */
export interface ComputedClip {
  readonly clip: Clip;
  /** Clean output of every stage but the last, in stage order (pivots of the seam check). */
  readonly stageOutputs: readonly Clip[];
  /** Wall seconds per stage. */
  readonly timings: Readonly<Partial<Record<StageName, number>>>;
  /** tf.memory().numTensors after minus before: 0 unless a stage leaks. */
  readonly leakedTensors: number;
}

export interface ComputeClipOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: StageProgress) => void) | undefined;
  /** The decoded input video for video-to-video clips ([T, h, w, 3] in [0, 1]). */
  readonly input?: Clip | undefined;
}

/**
 * Runs a clip's model stages in order on this thread's backend: latents -> base denoise ->
 * cascade stages -> decode. Every intermediate tensor is released, also on error or abort.
 */
export async function computeClip(
  clip: ClipPlan,
  model: LoadedModel,
  options: ComputeClipOptions = {},
): Promise<ComputedClip> {
  const before = tf.memory().numTensors;
  const result = await runStages(clip, model, options);
  return { ...result, leakedTensors: tf.memory().numTensors - before };
}

async function runStages(
  clip: ClipPlan,
  model: LoadedModel,
  options: ComputeClipOptions,
): Promise<Omit<ComputedClip, 'leakedTensors'>> {
  const context = { clip, model, signal: options.signal, onProgress: options.onProgress };
  const timings: Partial<Record<StageName, number>> = {};
  const timed = async <T>(name: StageName, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await run();
    } finally {
      timings[name] = (performance.now() - start) / 1000;
    }
  };
  const stageOutputs: Clip[] = [];
  const latents = await timed('latents', () => prepareLatents(options.input, context));
  let current: tf.Tensor5D | undefined;
  try {
    current = await timed('base', () => baseDenoise(latents, context));
  } finally {
    latents.state.dispose();
  }
  try {
    for (const stage of clip.stages.slice(1)) {
      if (stage.kind === 'base') continue;
      const previous: tf.Tensor5D = current;
      stageOutputs.push(await decodeFrames(previous, context));
      const next = await timed(`cascade-${stage.index}`, () => cascadeStage(previous, stage, context));
      previous.dispose();
      current = next;
    }
    const frames = await timed('decode', () => decodeFrames(current!, context));
    return { clip: frames, stageOutputs, timings };
  } finally {
    current?.dispose();
  }
}
