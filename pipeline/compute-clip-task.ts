/**
 * Worker-pool entry of the model stages: each worker loads the frozen model once and keeps it
 * for every clip it computes.
 */
import type { TaskContext } from '../backend/worker-protocol.js';
import type { Clip } from '../data/clip.js';
import { type LoadedModel, loadModelDir } from '../model/model-files.js';
import { type ComputedClip, computeClip } from './compute-clip.js';
import type { ClipPlan } from './plan.js';

export interface ComputeClipPayload {
  readonly modelDir: string;
  readonly modelSha256: string;
  readonly clip: ClipPlan;
  readonly input?: Clip | undefined;
}

let cached: { key: string; model: Promise<LoadedModel> } | undefined;

/** Loads (once per worker) the model named by folder and checksum. */
export function workerModel(dir: string, sha256: string): Promise<LoadedModel> {
  const key = `${dir}\u0000${sha256}`;
  if (cached?.key !== key) {
    const previous = cached;
    cached = { key, model: loadModelDir(dir) };
    void previous?.model.then(
      (m) => m.unet.dispose(),
      () => undefined,
    );
    cached.model.catch(() => {
      if (cached?.key === key) cached = undefined;
    });
  }
  return cached.model;
}

export async function computeClipTask(
  payload: ComputeClipPayload,
  context: TaskContext,
): Promise<ComputedClip> {
  const model = await workerModel(payload.modelDir, payload.modelSha256);
  return computeClip(payload.clip, model, { input: payload.input, onProgress: (p) => context.progress(p) });
}
