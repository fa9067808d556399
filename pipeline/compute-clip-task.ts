/** Worker-pool entry of the model stages (the worker keeps its model between clips). */
import type { TaskContext } from '../backend/worker-protocol.js';
import type { Clip } from '../data/clip.js';
import { workerModel } from '../model/worker-model.js';
import { type ComputedClip, computeClip } from './compute-clip.js';
import type { ClipPlan } from './plan.js';

export interface ComputeClipPayload {
  readonly modelDir: string;
  readonly modelSha256: string;
  readonly clip: ClipPlan;
  readonly input?: Clip | undefined;
}

export async function computeClipTask(
  payload: ComputeClipPayload,
  context: TaskContext,
): Promise<ComputedClip> {
  const model = await workerModel(payload.modelDir, payload.modelSha256);
  return computeClip(payload.clip, model, { input: payload.input, onProgress: (p) => context.progress(p) });
}
