/**
 * The model a pool worker keeps between tasks: each worker loads a frozen model once (by folder
 * and checksum) and reuses it for every clip it computes.
 */
import { type LoadedModel, loadModelDir } from './model-files.js';

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
