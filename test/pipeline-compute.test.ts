import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { writeTinyModel } from '../eval/tiny-model.js';
import { type LoadedModel, loadModelDir } from '../model/model-files.js';
import { computeClip } from '../pipeline/compute-clip.js';
import { validateJob } from '../pipeline/load-job.js';
import { planJob } from '../pipeline/plan.js';
import { resolveModel } from '../pipeline/resolve-model.js';
import { isCascadeError } from '../util/cascade-error.js';

const dir = mkdtempSync(join(tmpdir(), 'cascade-compute-'));
let model: LoadedModel;
let descriptor: Awaited<ReturnType<typeof resolveModel>>;

beforeAll(async () => {
  await selectBackend({ backend: 'wasm' });
  await writeTinyModel(join(dir, 'tiny'));
  descriptor = await resolveModel('./tiny', dir);
  model = await loadModelDir(descriptor.dir);
});
afterAll(() => {
  model?.unet.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function clipPlan(settings: Record<string, unknown>) {
  const job = validateJob({
    clips: [
      { id: 'c', prompt: 'two red circles on a striped blue background', seed: 5, steps: 4, ...settings },
    ],
    output: { dir: 'out' },
  });
  return planJob(job, { model: descriptor, baseDir: dir }).clips[0]!;
}

describe('computeClip with a tiny random-weight model', () => {
  it('runs base + two pivot-replacement stages for 4x tuning-free, without leaking tensors', async () => {
    const plan = clipPlan({ scale: 4, mode: 'tuning-free', k: 700 });
    const stages: string[] = [];
    const result = await computeClip(plan, model, { onProgress: (p) => stages.push(p.stage) });
    expect([result.clip.frames, result.clip.height, result.clip.width]).toEqual([4, 32, 32]);
    expect(result.stageOutputs.map((c) => c.width)).toEqual([8, 16]);
    expect(result.leakedTensors).toBe(0);
    expect(new Set(stages)).toEqual(new Set(['latents', 'base', 'cascade-1', 'cascade-2', 'decode']));
    expect(Object.keys(result.timings)).toEqual(['latents', 'base', 'cascade-1', 'cascade-2', 'decode']);
    for (const v of result.clip.data) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('is deterministic: the same plan gives bit-identical frames', async () => {
    const plan = clipPlan({ scale: 2 });
    const a = await computeClip(plan, model);
    const b = await computeClip(plan, model);
    expect(Buffer.from(a.clip.data.buffer).equals(Buffer.from(b.clip.data.buffer))).toBe(true);
    const other = await computeClip(clipPlan({ scale: 2, seed: 6 }), model);
    expect(Buffer.from(a.clip.data.buffer).equals(Buffer.from(other.clip.data.buffer))).toBe(false);
  });

  it("draws the clip's noise at its frameCorrelation (the model's by default)", async () => {
    const bytes = (c: { data: Float32Array }) =>
      Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength);
    const byDefault = clipPlan({ scale: 2 });
    expect(byDefault.frameCorrelation).toBe(descriptor.samplingFrameCorrelation);
    const a = await computeClip(byDefault, model);
    const same = await computeClip(
      clipPlan({ scale: 2, frameCorrelation: descriptor.samplingFrameCorrelation }),
      model,
    );
    expect(bytes(same.clip).equals(bytes(a.clip))).toBe(true);
    const other = await computeClip(clipPlan({ scale: 2, frameCorrelation: 0.9 }), model);
    expect(bytes(other.stageOutputs[0]!).equals(bytes(a.stageOutputs[0]!))).toBe(false);
    expect(bytes(other.clip).equals(bytes(a.clip))).toBe(false);
  });

  it('direct mode samples once at the target size; upsample mode resizes the base output', async () => {
    const direct = await computeClip(clipPlan({ scale: 2, mode: 'direct' }), model);
    expect([direct.clip.height, direct.stageOutputs.length]).toEqual([16, 0]);
    const up = await computeClip(clipPlan({ scale: 4, mode: 'upsample', upsampleFilter: 'bicubic' }), model);
    expect([up.clip.height, up.stageOutputs.length, up.leakedTensors]).toEqual([32, 1, 0]);
  });

  it('stops between steps when aborted and leaks nothing', async () => {
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const error = await computeClip(clipPlan({ scale: 4 }), model, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'cascade-1') controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(isCascadeError(error, 'ABORTED')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
