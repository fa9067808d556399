import type { Clip } from '../data/clip.js';
import {
  checkFrameConsistency,
  type FrameCheckThresholds,
  type FrameConsistencyResult,
} from '../eval/frame-consistency.js';
import { throwIfAborted } from '../util/cascade-error.js';
import type { StageContext } from './stage-context.js';

/**
 * Frame-consistency checks on the finished frames: flicker, consecutive-frame similarity,
 * frozen and black frames, and the seam ratio against the previous cascade stage's output
 * (the pivot of the last stage) when there is one. Reports; the runner decides whether a
 * failure fails the job.
 */
export async function checkFrames(
  frames: Clip,
  previousStage: Clip | undefined,
  thresholds: FrameCheckThresholds,
  context: StageContext,
): Promise<FrameConsistencyResult> {
  throwIfAborted(context.signal);
  const result = checkFrameConsistency(frames, thresholds, { pivot: previousStage });
  context.onProgress?.({ stage: 'checks', fraction: 1 });
  return result;
}
